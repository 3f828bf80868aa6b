//! The stored forms read back, and said in words.

use super::AuditDetail;
use crate::domain::{
    ApiScope, AuditAction, ConsentSource, ContactStatus, InboundKind, LoggedAction, Timestamp,
};

fn read(action: AuditAction, stored: &str) -> AuditDetail {
    AuditDetail::read(&LoggedAction::Known(action), stored)
}

#[test]
fn the_forms_earlier_versions_wrote_read_as_sentences() {
    let cases = [
        (
            AuditAction::IssueSend,
            "queued 496, resumed 0",
            "496 mottakere satt i kø.",
        ),
        (
            AuditAction::IssueSend,
            "queued 1, resumed 2",
            "1 mottaker satt i kø, og 2 som var stoppet, satt i kø igjen.",
        ),
        (
            AuditAction::ContactsImport,
            "file=kontakter mars.csv rows=12 inserted=10 updated=1 rejected=1",
            "Importerte filen «kontakter mars.csv»: 12 rader; 10 lagt til, 1 oppdatert, 1 ikke importert.",
        ),
        (
            AuditAction::ContactPublications,
            "joined: nyhetsbrev, rettsavgjorelser; left: -",
            "Meldte seg på: nyhetsbrev og rettsavgjorelser.",
        ),
        (
            AuditAction::ContactEdit,
            "fields=name,status status=unsubscribed->confirmed",
            "Endret: navn og status. Status fra «meldt av» til «bekreftet».",
        ),
        (
            AuditAction::ContactBounced,
            "1 hard bounces",
            "E-post til adressen har kommet i retur for godt 1 gang.",
        ),
        (
            AuditAction::StaffLoginFailed,
            "unknown account",
            "Ingen konto har det brukernavnet.",
        ),
        (
            AuditAction::IssueImportDocx,
            "[]",
            "Alt i Word-dokumentet kom med.",
        ),
        (
            AuditAction::PublicationAdd,
            "kind=announcement",
            "Type: kunngjøring.",
        ),
    ];
    for (action, stored, words) in cases {
        assert_eq!(read(action, stored).norwegian(), words, "{stored}");
    }
}

#[test]
fn every_kind_reads_back_from_what_it_writes() {
    let at = Timestamp::parse_date("2026-12-02T09:30:00Z").unwrap();
    let cases = [
        (
            AuditAction::ContactAdd,
            AuditDetail::ContactAdded {
                status: ContactStatus::Pending,
                source: ConsentSource::EmailRequest,
            },
        ),
        (
            AuditAction::ContactEdit,
            AuditDetail::ContactEdited {
                fields: vec!["email".into()],
                status: None,
            },
        ),
        (
            AuditAction::ContactResetBounce,
            AuditDetail::BounceCleared {
                note: "ringte, ny postkasse".into(),
            },
        ),
        (
            AuditAction::ContactUnsubscribe,
            AuditDetail::LeftLastPublication,
        ),
        (
            AuditAction::ContactLeavePublication,
            AuditDetail::PublicationLeft {
                slug: "nyhetsbrev".into(),
            },
        ),
        (
            AuditAction::ContactPublications,
            AuditDetail::PublicationsChosen {
                joined: vec![],
                left: vec!["a".into(), "b".into()],
            },
        ),
        (
            AuditAction::ContactDuplicateAddress,
            AuditDetail::SameMailbox {
                id: "3".into(),
                email: "Kari@example.org".into(),
                same_as: "5".into(),
                same_as_email: "kari@example.org".into(),
            },
        ),
        (AuditAction::IssueCancel, AuditDetail::Cancelled(4)),
        (AuditAction::IssueRetryFailed, AuditDetail::Requeued(2)),
        (AuditAction::IssuePlanSend, AuditDetail::PlannedFor(at)),
        (AuditAction::IssuePlanMissed, AuditDetail::PlanMissed(at)),
        (
            AuditAction::PublicationEdit,
            AuditDetail::PublicationEdited(vec!["name".into(), "kind".into()]),
        ),
        (AuditAction::StaffAdd, AuditDetail::Administrator),
        (AuditAction::StaffLogin, AuditDetail::SecondFactorDue),
        (
            AuditAction::InboundAnswer,
            AuditDetail::Answered(InboundKind::Subscribe),
        ),
        (AuditAction::InboundHandled, AuditDetail::SenderAdded),
        (
            AuditAction::ApiTokenAdd,
            AuditDetail::Scope(ApiScope::Inbound),
        ),
        (
            AuditAction::ContactExport,
            AuditDetail::CopyMade {
                format: "html".into(),
            },
        ),
        (
            AuditAction::BackupMade,
            AuditDetail::Backup {
                path: "/srv/b.db".into(),
                bytes: 5_000_000,
                contacts: Some(1),
            },
        ),
        (
            AuditAction::DatabaseRestored,
            AuditDetail::Restored {
                from: "/srv/b.db".into(),
                replaced: None,
                contacts: Some(2),
            },
        ),
        (
            AuditAction::RetentionRun,
            AuditDetail::Retention {
                inbound_emptied: 1,
                unconfirmed_removed: 2,
                inbound_days: 90,
                pending_days: 30,
            },
        ),
        (AuditAction::IssueImportDocx, AuditDetail::WordOmissions(2)),
        (AuditAction::IssueExportLedger, AuditDetail::Ledger(1)),
    ];
    for (action, detail) in cases {
        let stored = detail.to_string();
        assert_eq!(read(action, &stored), detail, "{stored}");
        let words = detail.norwegian();
        for code in ["=", "{", "[", "->", "_"] {
            assert!(!words.contains(code), "{words}");
        }
    }
}

#[test]
fn an_unknown_form_is_shown_as_written() {
    assert_eq!(
        read(AuditAction::IssueSend, "sendt av en eldre versjon").norwegian(),
        "sendt av en eldre versjon"
    );
}
