//! Every word the person's readable copy says about a stored value, in one place: how
//! they joined, where they stand, who did what, what became of a mail. Written for the
//! person (second person, «du»), not for staff: no stored word, account name or field
//! name reaches them. The fixed text around these words (purpose, legal basis, rights)
//! is the document's template, `templates/innsyn/document.html`.

use crate::domain::{
    Actor, ActorKind, AuditAction, ConsentSource, ContactStatus, DeliveryStatus, InboundKind,
    LoggedAction, MailDoor, NoticePurpose, NoticeStatus, RecipientDoor,
};

/// Where the person stands on the list, as a sentence.
pub fn standing(status: ContactStatus) -> &'static str {
    match status {
        ContactStatus::Pending => {
            "Du har bedt om å komme på kontaktlisten, men har ikke bekreftet adressen ennå. \
             Vi sender deg ingenting før du har bekreftet."
        }
        ContactStatus::Confirmed => {
            "Du står på kontaktlisten og får det vi sender ut i publikasjonene nedenfor."
        }
        ContactStatus::Unsubscribed => "Du har meldt deg av. Vi sender deg ikke noe mer.",
        ContactStatus::Bounced => {
            "E-post til adressen din har kommet i retur, så vi sender ikke lenger noe til den."
        }
    }
}

/// How the person came on the list, as a sentence.
pub fn consent_given(source: ConsentSource) -> &'static str {
    match source {
        ConsentSource::Web => {
            "Du meldte deg på med skjemaet på nettsiden vår, og bekreftet det med lenken vi \
             sendte til adressen din."
        }
        ConsentSource::EmailRequest => "Du ba om å komme på listen i en e-post til oss.",
        ConsentSource::Import => {
            "Du stod på kontaktlisten vår fra før, den vi førte før vi tok i bruk denne \
             tjenesten."
        }
        ConsentSource::Staff => {
            "En medarbeider hos oss la deg inn etter at du ba om det på annen måte, for \
             eksempel på telefon eller i et møte."
        }
    }
}

/// How the person chose a publication, short (beside its name).
pub fn chosen_by(source: ConsentSource) -> &'static str {
    match source {
        ConsentSource::Web => "valgt av deg på nettsiden vår",
        ConsentSource::EmailRequest => "etter ønske fra deg på e-post",
        ConsentSource::Import => "fra kontaktlisten vi førte før",
        ConsentSource::Staff => "lagt inn av oss etter ønske fra deg",
    }
}

/// Who did something with the person's data.
pub fn who(actor: &Actor) -> &'static str {
    match actor.kind() {
        ActorKind::Staff { .. } => "en medarbeider hos oss",
        ActorKind::Recipient(RecipientDoor::Confirm) => "du selv, med bekreftelseslenken",
        ActorKind::Recipient(RecipientDoor::Unsubscribe) => "du selv, med avmeldingslenken",
        ActorKind::Recipient(RecipientDoor::Preferences) => {
            "du selv, på siden der du velger hva du får"
        }
        ActorKind::Recipient(RecipientDoor::SignUp) => "du selv, med påmeldingsskjemaet",
        ActorKind::Mail(MailDoor::Subscribe) => "du selv, i en e-post om å komme på listen",
        ActorKind::Mail(MailDoor::Unsubscribe) => "du selv, i en e-post om å melde deg av",
        ActorKind::Mail(MailDoor::Bounce) => {
            "en melding fra e-posttjenesten din om at e-post ikke kom fram"
        }
        ActorKind::Service(_) => "tjenesten selv, automatisk",
        ActorKind::ApiToken(_) => "et av våre egne systemer for innkommende e-post",
        ActorKind::SignInAttempt { .. } | ActorKind::Unknown(_) => "ukjent",
    }
}

/// What was done with the person's data, as the start of a sentence.
pub fn what_was_done(action: &LoggedAction) -> &'static str {
    let LoggedAction::Known(action) = action else {
        return "Annen behandling av opplysningene dine";
    };
    match action {
        AuditAction::ContactAdd => "Du ble lagt inn på kontaktlisten",
        AuditAction::ContactEdit => "Opplysningene om deg ble endret",
        AuditAction::ContactRemove => "Opplysningene om deg ble slettet",
        AuditAction::ContactExport => "Det ble laget en kopi av opplysningene om deg (innsyn)",
        AuditAction::ContactResetBounce => {
            "Adressen din ble satt tilbake på listen etter å ha kommet i retur"
        }
        AuditAction::ContactConfirm => "Påmeldingen din ble bekreftet",
        AuditAction::ContactUnsubscribe => "Du ble meldt av kontaktlisten",
        AuditAction::ContactLeavePublication => "Du ble meldt av én publikasjon",
        AuditAction::ContactPublications => "Valget ditt av publikasjoner ble lagret",
        AuditAction::ContactBounced => {
            "Adressen din ble satt til ikke i bruk, fordi e-post til den kom i retur"
        }
        AuditAction::ContactLeaveLink => "En lenke for å melde deg av ble sendt til adressen",
        AuditAction::ContactDuplicateAddress => "Adressen din ble funnet to ganger på listen",
        // The rest are about issues, staff accounts and the service itself: they reach
        // a person's log only through a subject that names them.
        _ => "Annen behandling av opplysningene dine",
    }
}

/// Where a delivery of an issue to the person stands.
pub fn delivery(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "venter på å bli sendt",
        DeliveryStatus::Sent => "sendt",
        DeliveryStatus::Failed => "kunne ikke sendes",
        DeliveryStatus::Skipped => "ikke sendt, fordi du ikke lenger stod på listen",
        DeliveryStatus::Cancelled => "ikke sendt, fordi utsendingen ble stoppet",
    }
}

/// A mail that answered a request of the person's.
pub fn notice(purpose: NoticePurpose) -> &'static str {
    match purpose {
        NoticePurpose::Confirm => "E-post med lenke for å bekrefte påmeldingen",
        NoticePurpose::Leave => "E-post med lenke for å melde deg av",
    }
}

/// Where such a mail stands.
pub fn notice_state(status: NoticeStatus) -> &'static str {
    match status {
        NoticeStatus::Queued => "venter på å bli sendt",
        NoticeStatus::Sent => "sendt",
        NoticeStatus::Failed => "kunne ikke sendes",
        NoticeStatus::Skipped => "ikke sendt, fordi den ikke lenger trengtes",
    }
}

/// What the service took a mail from the person for.
pub fn mail_taken_as(kind: InboundKind) -> &'static str {
    match kind {
        InboundKind::Subscribe => "et ønske om å komme på listen",
        InboundKind::Unsubscribe => "et ønske om å melde deg av",
        InboundKind::Bounce => "en melding om at e-post fra oss ikke kom fram",
        InboundKind::Forged => {
            "en melding om at e-post fra oss ikke kom fram, men den kunne ikke bekreftes å \
             være ekte og ble ikke brukt"
        }
        InboundKind::Automatic => "et automatisk svar, for eksempel en fraværsmelding",
        InboundKind::Loop => "e-post som kom tilbake til oss selv",
        InboundKind::Other => "en henvendelse til oss, lest av en medarbeider",
        InboundKind::Unreadable => "e-post som ikke kunne leses",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stored_word_reaches_the_person() {
        let mut words: Vec<&str> = Vec::new();
        words.extend(ContactStatus::ALL.map(standing));
        words.extend(ConsentSource::ALL.map(consent_given));
        words.extend(ConsentSource::ALL.map(chosen_by));
        words.extend(
            AuditAction::ALL
                .iter()
                .map(|a| what_was_done(&LoggedAction::Known(*a))),
        );
        words.extend(DeliveryStatus::ALL.iter().map(|s| delivery(*s)));
        words.extend(NoticePurpose::ALL.iter().map(|p| notice(*p)));
        words.extend(NoticeStatus::ALL.iter().map(|s| notice_state(*s)));
        words.extend(InboundKind::ALL.iter().map(|k| mail_taken_as(*k)));
        for stored in [
            "web:kari",
            "cli:ola",
            "api:Post",
            "client:192.0.2.1",
            "worker",
            "x",
        ] {
            words.push(who(&Actor::parse(stored)));
        }
        for word in words {
            assert!(!word.trim().is_empty());
            for code in [
                ":", "_", "contact.", "web", "cli", "api", "worker", "kari", "ola",
            ] {
                assert!(!word.contains(code), "{code} in {word:?}");
            }
        }
        assert_eq!(who(&Actor::parse("web:kari")), "en medarbeider hos oss");
    }
}
