//! The audit log's vocabulary as types: what was done ([`AuditAction`]) and who did it
//! ([`Actor`]). Both are stored as the words earlier versions wrote, so old rows read
//! back; staff and the person read them through `norwegian()`, never as stored.

use std::borrow::Cow;
use std::fmt;

use super::ApiTokenName;
use super::status::stored_words;

stored_words! {
    /// Everything the audit log records. Its Norwegian label is an exhaustive match
    /// ([`AuditAction::norwegian`]): an action without one does not compile.
    AuditAction, "unknown audit action" {
        ContactAdd = "contact.add",
        ContactEdit = "contact.edit",
        ContactRemove = "contact.remove",
        /// A person's copy of their data was made.
        ContactExport = "contact.export",
        ContactResetBounce = "contact.reset-bounce",
        ContactConfirm = "contact.confirm",
        ContactUnsubscribe = "contact.unsubscribe",
        ContactLeavePublication = "contact.leave-publication",
        /// A person saved their own choice of publications.
        ContactPublications = "contact.publications",
        ContactBounced = "contact.bounced",
        /// An unverified request to leave by mail: a leave link is mailed.
        ContactLeaveLink = "contact.leave_link",
        /// The address-key upgrade found two contacts with one mailbox.
        ContactDuplicateAddress = "contact.duplicate_address",
        ContactsImport = "contacts.import",
        ContactsExport = "contacts.export",
        IssueCreate = "issue.create",
        IssueUpdate = "issue.update",
        IssueImportDocx = "issue.import_docx",
        IssueTestSend = "issue.test_send",
        IssueSend = "issue.send",
        IssuePlanSend = "issue.plan_send",
        IssueApproveSend = "issue.approve_send",
        IssueCancelPlan = "issue.cancel_plan",
        IssuePlanMissed = "issue.plan_missed",
        IssueCancel = "issue.cancel",
        IssuePause = "issue.pause",
        IssueResume = "issue.resume",
        IssueRetryFailed = "issue.retry_failed",
        IssueExportLedger = "issue.export_ledger",
        PublicationAdd = "publication.add",
        PublicationEdit = "publication.edit",
        StaffAdd = "staff.add",
        StaffPassword = "staff.password",
        StaffDisable = "staff.disable",
        StaffEnable = "staff.enable",
        StaffTotp = "staff.totp",
        StaffTotpFailed = "staff.totp_failed",
        StaffLogin = "staff.login",
        StaffLoginFailed = "staff.login_failed",
        StaffSecondFactorReset = "staff.second_factor_reset",
        StaffApprovalRefused = "staff.approval_refused",
        InboundAnswer = "inbound.answer",
        InboundHandled = "inbound.handled",
        InboundApiPost = "inbound.api_post",
        ApiTokenAdd = "api_token.add",
        ApiTokenRevoke = "api_token.revoke",
        BackupMade = "backup.made",
        DatabaseRestored = "database.restored",
        RetentionRun = "retention.run",
        /// Staff changed who sends: the organisation's name, the sender, the reply address.
        SettingsEdit = "settings.edit",
    }
}

impl AuditAction {
    /// The action as staff and the person read it.
    pub fn norwegian(self) -> &'static str {
        match self {
            AuditAction::ContactAdd => "lagt til på listen",
            AuditAction::ContactEdit => "endret",
            AuditAction::ContactRemove => "slettet",
            AuditAction::ContactExport => "innsyn: kopi av opplysningene laget",
            AuditAction::ContactResetBounce => "satt tilbake på listen etter avvisning",
            AuditAction::ContactConfirm => "bekreftet påmeldingen",
            AuditAction::ContactUnsubscribe => "meldt av",
            AuditAction::ContactLeavePublication => "meldt av én publikasjon",
            AuditAction::ContactPublications => "valgte selv hvilke publikasjoner som kommer",
            AuditAction::ContactBounced => "adressen avvist",
            AuditAction::ContactLeaveLink => {
                "ba om å melde seg av på e-post: lenke for å gjøre det sendes til adressen"
            }
            AuditAction::ContactDuplicateAddress => {
                "samme postkasse som en annen kontakt (funnet ved oppgradering)"
            }
            AuditAction::ContactsImport => "kontakter importert",
            AuditAction::ContactsExport => "kontaktlisten eksportert",
            AuditAction::IssueCreate => "utgave opprettet",
            AuditAction::IssueUpdate => "utgave endret",
            AuditAction::IssueImportDocx => "utgave lest inn fra Word",
            AuditAction::IssueTestSend => "prøveeksemplar sendt",
            AuditAction::IssueSend => "utsending startet",
            AuditAction::IssuePlanSend => "utsending planlagt",
            AuditAction::IssueApproveSend => "utsending godkjent",
            AuditAction::IssueCancelPlan => "planlagt utsending avlyst",
            AuditAction::IssuePlanMissed => "planlagt utsending ikke startet i tide",
            AuditAction::IssueCancel => "utsending stoppet",
            AuditAction::IssuePause => "utsending satt på pause",
            AuditAction::IssueResume => "utsending fortsatt",
            AuditAction::IssueRetryFailed => "feilede sendinger prøvd igjen",
            AuditAction::IssueExportLedger => "utsendingen lastet ned som regneark",
            AuditAction::PublicationAdd => "publikasjon opprettet",
            AuditAction::PublicationEdit => "publikasjon endret",
            AuditAction::StaffAdd => "stabskonto opprettet",
            AuditAction::StaffPassword => "nytt passord",
            AuditAction::StaffDisable => "stabskonto deaktivert",
            AuditAction::StaffEnable => "stabskonto aktivert igjen",
            AuditAction::StaffTotp => "tofaktor slått på",
            AuditAction::StaffTotpFailed => "feil tofaktor-kode",
            AuditAction::StaffLogin => "logget inn",
            AuditAction::StaffLoginFailed => "mislykket innlogging",
            AuditAction::StaffSecondFactorReset => "tofaktor nullstilt",
            AuditAction::StaffApprovalRefused => "godkjenning ikke godtatt",
            AuditAction::InboundAnswer => "e-post besvart av staben",
            AuditAction::InboundHandled => "e-post behandlet av staben",
            AuditAction::InboundApiPost => "e-post levert gjennom API-et",
            AuditAction::ApiTokenAdd => "API-nøkkel laget",
            AuditAction::ApiTokenRevoke => "API-nøkkel trukket tilbake",
            AuditAction::BackupMade => "sikkerhetskopi laget",
            AuditAction::DatabaseRestored => "databasen lagt tilbake fra en sikkerhetskopi",
            AuditAction::RetentionRun => "gamle opplysninger slettet etter lagringstiden",
            AuditAction::SettingsEdit => "innstillinger for avsender og organisasjon endret",
        }
    }
}

/// An action as a row of the log holds it: one this version knows, or a word another
/// version wrote (a database shared with a newer one, say), kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoggedAction {
    Known(AuditAction),
    Unknown(String),
}

impl LoggedAction {
    /// The stored word read back.
    pub fn parse(stored: &str) -> Self {
        AuditAction::parse(stored).map_or_else(|| Self::Unknown(stored.to_owned()), Self::Known)
    }

    /// The stored word.
    pub fn as_str(&self) -> &str {
        match self {
            LoggedAction::Known(action) => action.as_str(),
            LoggedAction::Unknown(word) => word,
        }
    }

    /// As staff and the person read it; an action this version has no words for is
    /// named as one, with the stored word in quotes.
    pub fn norwegian(&self) -> Cow<'static, str> {
        match self {
            LoggedAction::Known(action) => Cow::Borrowed(action.norwegian()),
            LoggedAction::Unknown(word) => Cow::Owned(format!("ukjent handling («{word}»)")),
        }
    }
}

impl fmt::Display for LoggedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for LoggedAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<AuditAction> for LoggedAction {
    fn eq(&self, other: &AuditAction) -> bool {
        *self == LoggedAction::Known(*other)
    }
}

/// Generates a small enum whose values are whole stored actor names.
macro_rules! actor_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $stored:literal => $words:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The actor's stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored),+
                }
            }

            /// Who it was, as staff read it.
            pub fn norwegian(self) -> &'static str {
                match self {
                    $($name::$variant => $words),+
                }
            }

            fn parse(stored: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == stored)
            }
        }
    };
}

actor_words! {
    /// A person through a link or form of their own on the public pages.
    RecipientDoor {
        /// The confirmation link of a sign-up.
        Confirm = "web:confirm" => "Mottakeren selv, via bekreftelseslenken i e-posten",
        /// The leave link (the page or one-click).
        Unsubscribe = "web:unsubscribe" => "Mottakeren selv, via avmeldingslenken i e-posten",
        /// The «Velg hva du får» page.
        Preferences = "web:preferences" => "Mottakeren selv, via lenken i e-posten til siden «Velg hva du får»",
        /// The sign-up form.
        SignUp = "web:subscribe" => "Mottakeren selv, via skjemaet på nettsiden",
    }
}

actor_words! {
    /// A person's mail, acted on by the service.
    MailDoor {
        Subscribe = "inbound:subscribe" => "Mottakeren selv, ved e-post til KOM om å stå på listen",
        Unsubscribe = "inbound:unsubscribe" => "Mottakeren selv, ved e-post til KOM om å melde seg av",
        /// A delivery report from the recipient's mail server.
        Bounce = "inbound:bounce" => "Mottakerens e-posttjener, som meldte at e-posten ikke kom fram",
    }
}

actor_words! {
    /// The service itself, doing what it does on its own.
    ServiceTask {
        Delivery = "worker" => "Tjenesten selv, under utsendingen",
        PlannedSend = "worker:plan" => "Tjenesten selv, ved en planlagt utsending",
        Backup = "serve:backup" => "Tjenesten selv, ved sikkerhetskopiering",
        Retention = "serve:retention" => "Tjenesten selv, ved sletting etter lagringstiden",
        Upgrade = "service:upgrade" => "Tjenesten selv, ved en oppgradering",
    }
}

impl RecipientDoor {
    /// The names without `web:` that early versions wrote for a person's own doings.
    fn bare(stored: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|door| door.as_str().strip_prefix(WEB) == Some(stored))
    }
}

/// The name the command line gives a user it cannot name (no `USER` in the
/// environment), and that very early versions logged as the actor itself.
const UNKNOWN_USER: &str = "unknown";

/// How a staff member acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffDoor {
    /// Signed in to the web admin, as an account (`web:<account>`).
    Web,
    /// A command, as the operating-system user running it (`cli:<user>`).
    CommandLine,
}

const WEB: &str = "web:";
const CLI: &str = "cli:";
const API: &str = super::API_ACTOR_PREFIX;
const CLIENT: &str = "client:";

/// Who did something, as the audit log and the tables that name who made a change
/// keep it: made only by the constructors below (or read back with [`Actor::parse`]),
/// so every stored name is one of the kinds of [`ActorKind`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

/// What an [`Actor`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind<'a> {
    /// A staff member.
    Staff { account: &'a str, door: StaffDoor },
    /// A person through their own link or the sign-up form.
    Recipient(RecipientDoor),
    /// A person's mail.
    Mail(MailDoor),
    /// The service itself.
    Service(ServiceTask),
    /// The holder of an API token, by the token's name.
    ApiToken(&'a str),
    /// Someone who failed to sign in, by their client address: no account is theirs.
    SignInAttempt { client: &'a str },
    /// A name this version does not know (another version's, a test's): shown as
    /// stored.
    Unknown(&'a str),
}

impl Actor {
    /// A staff account signed in to the web admin.
    pub fn web(account: &str) -> Self {
        Self(format!("{WEB}{account}"))
    }

    /// The operating-system user running a command.
    pub fn command_line(user: &str) -> Self {
        Self(format!("{CLI}{user}"))
    }

    /// What an API token's holder did.
    pub fn api_token(token: &ApiTokenName) -> Self {
        Self(format!("{API}{}", token.as_str()))
    }

    /// A failed sign-in from `client` (its address).
    pub fn sign_in_attempt(client: &str) -> Self {
        Self(format!("{CLIENT}{client}"))
    }

    pub fn recipient(door: RecipientDoor) -> Self {
        Self(door.as_str().to_owned())
    }

    pub fn mail(door: MailDoor) -> Self {
        Self(door.as_str().to_owned())
    }

    pub fn service(task: ServiceTask) -> Self {
        Self(task.as_str().to_owned())
    }

    /// A stored name read back (a row of the log, who requested a send), whatever it
    /// is: [`Actor::kind`] says what.
    pub fn parse(stored: &str) -> Self {
        Self(stored.to_owned())
    }

    /// The stored name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> ActorKind<'_> {
        ActorKind::of(&self.0)
    }

    /// The web account behind this actor, if it is one.
    pub fn web_account(&self) -> Option<&str> {
        self.kind().web_account()
    }

    /// Who it was, as staff and the person read it: a staff member by their name.
    pub fn norwegian(&self) -> String {
        match self.kind() {
            ActorKind::Staff {
                account,
                door: StaffDoor::Web,
            } => account.to_owned(),
            ActorKind::Staff {
                account,
                door: StaffDoor::CommandLine,
            } if account == UNKNOWN_USER => {
                "En ukjent bruker på kommandolinjen på tjeneren".to_owned()
            }
            ActorKind::Staff {
                account,
                door: StaffDoor::CommandLine,
            } => format!("{account}, på kommandolinjen på tjeneren"),
            ActorKind::Recipient(door) => door.norwegian().to_owned(),
            ActorKind::Mail(door) => door.norwegian().to_owned(),
            ActorKind::Service(task) => task.norwegian().to_owned(),
            ActorKind::ApiToken(token) => format!("Et program med API-nøkkelen «{token}»"),
            ActorKind::SignInAttempt { client } => {
                format!("Noen som ikke er logget inn, fra IP-adressen {client}")
            }
            ActorKind::Unknown(stored) if stored == UNKNOWN_USER || stored.is_empty() => {
                "Ukjent".to_owned()
            }
            ActorKind::Unknown(stored) => format!("Ukjent («{stored}»)"),
        }
    }
}

impl<'a> ActorKind<'a> {
    /// What a stored name (`web:kari`, `worker`) is.
    pub fn of(stored: &'a str) -> Self {
        // The public pages' names come first: they were written as `web:…` before
        // staff accounts were, and a staff account of the same name reads as them.
        if let Some(door) = RecipientDoor::parse(stored).or_else(|| RecipientDoor::bare(stored)) {
            return ActorKind::Recipient(door);
        }
        if let Some(door) = MailDoor::parse(stored) {
            return ActorKind::Mail(door);
        }
        if let Some(task) = ServiceTask::parse(stored) {
            return ActorKind::Service(task);
        }
        let named = |prefix: &str| stored.strip_prefix(prefix).filter(|rest| !rest.is_empty());
        if let Some(account) = named(WEB) {
            ActorKind::Staff {
                account,
                door: StaffDoor::Web,
            }
        } else if let Some(account) = named(CLI) {
            ActorKind::Staff {
                account,
                door: StaffDoor::CommandLine,
            }
        } else if let Some(token) = named(API) {
            ActorKind::ApiToken(token)
        } else if let Some(client) = named(CLIENT) {
            ActorKind::SignInAttempt { client }
        } else {
            ActorKind::Unknown(stored)
        }
    }

    /// The web account, if it is one.
    pub fn web_account(self) -> Option<&'a str> {
        match self {
            ActorKind::Staff {
                account,
                door: StaffDoor::Web,
            } => Some(account),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    /// The stored name (logs and the command line); staff read [`Actor::norwegian`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for Actor {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for Actor {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_action_has_a_label_of_its_own() {
        let mut codes = HashSet::new();
        let mut labels = HashSet::new();
        for action in AuditAction::ALL {
            assert!(!action.norwegian().trim().is_empty(), "{action}");
            assert!(codes.insert(action.as_str()), "code twice: {action}");
            assert!(labels.insert(action.norwegian()), "label twice: {action}");
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
            assert_eq!(LoggedAction::parse(action.as_str()), *action);
            assert!(!action.norwegian().contains(action.as_str()), "{action}");
        }
    }

    #[test]
    fn the_actions_staff_could_not_see_before_have_labels() {
        for code in [
            "publication.add",
            "publication.edit",
            "contact.leave-publication",
            "contact.publications",
            "contact.duplicate_address",
        ] {
            let action = LoggedAction::parse(code);
            assert!(matches!(action, LoggedAction::Known(_)), "{code}");
            assert!(!action.norwegian().contains(code), "{code}");
        }
    }

    #[test]
    fn an_unknown_action_reads_back_as_it_was_stored() {
        let action = LoggedAction::parse("contact.teleport");
        assert_eq!(action, "contact.teleport");
        assert_eq!(action.as_str(), "contact.teleport");
        assert!(action.norwegian().starts_with("ukjent handling"));
    }

    #[test]
    fn actors_keep_their_stored_names_and_read_in_bokmal() {
        let token = ApiTokenName::parse("Postmottak").unwrap();
        let cases = [
            (Actor::web("kari"), "web:kari", "kari"),
            (
                Actor::command_line("ola"),
                "cli:ola",
                "ola, på kommandolinjen på tjeneren",
            ),
            (
                Actor::api_token(&token),
                "api:Postmottak",
                "Et program med API-nøkkelen «Postmottak»",
            ),
            (
                Actor::sign_in_attempt("192.0.2.7"),
                "client:192.0.2.7",
                "Noen som ikke er logget inn, fra IP-adressen 192.0.2.7",
            ),
            (
                Actor::recipient(RecipientDoor::Confirm),
                "web:confirm",
                "Mottakeren selv, via bekreftelseslenken i e-posten",
            ),
            (
                Actor::mail(MailDoor::Bounce),
                "inbound:bounce",
                "Mottakerens e-posttjener, som meldte at e-posten ikke kom fram",
            ),
            (
                Actor::service(ServiceTask::Delivery),
                "worker",
                "Tjenesten selv, under utsendingen",
            ),
        ];
        for (actor, stored, words) in cases {
            assert_eq!(actor.as_str(), stored);
            assert_eq!(Actor::parse(stored), actor);
            assert_eq!(actor.norwegian(), words);
        }
        assert_eq!(Actor::web("kari").web_account(), Some("kari"));
        assert_eq!(Actor::command_line("kari").web_account(), None);
        assert_eq!(Actor::recipient(RecipientDoor::SignUp).web_account(), None);
    }

    #[test]
    fn every_named_actor_reads_as_what_it_is_not_as_a_code() {
        for door in RecipientDoor::ALL {
            assert_eq!(Actor::recipient(*door).kind(), ActorKind::Recipient(*door));
            assert!(!door.norwegian().contains(':'));
        }
        for door in MailDoor::ALL {
            assert_eq!(Actor::mail(*door).kind(), ActorKind::Mail(*door));
            assert!(!door.norwegian().contains(':'));
        }
        for task in ServiceTask::ALL {
            assert_eq!(Actor::service(*task).kind(), ActorKind::Service(*task));
            assert!(!task.norwegian().contains(':'));
        }
        assert_eq!(Actor::parse("web:").kind(), ActorKind::Unknown("web:"));
        assert_eq!(Actor::parse("test").norwegian(), "Ukjent («test»)");
        assert_eq!(Actor::parse("unknown").norwegian(), "Ukjent");
        assert_eq!(
            Actor::parse("subscribe").kind(),
            ActorKind::Recipient(RecipientDoor::SignUp)
        );
    }
}
