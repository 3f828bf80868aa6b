//! The stored form of each [`AuditDetail`]: written by `Display`, read back by
//! [`AuditDetail::read`]. The forms are those earlier versions wrote as free text (or
//! JSON), so every row in a database reads alike, old or new.

use std::fmt;

use super::AuditDetail;
use crate::domain::{
    ApiScope, AuditAction, ContactStatus, InboundKind, LoggedAction, PublicationKind, Timestamp,
};

impl AuditDetail {
    /// The detail of an entry of `action` read back from its stored form; a form this
    /// version does not know is kept as [`AuditDetail::Words`].
    pub fn read(action: &LoggedAction, stored: &str) -> Self {
        let LoggedAction::Known(action) = action else {
            return Self::Words(stored.to_owned());
        };
        Self::read_known(*action, stored.trim()).unwrap_or_else(|| Self::Words(stored.to_owned()))
    }

    fn read_known(action: AuditAction, stored: &str) -> Option<Self> {
        use AuditAction as A;
        match action {
            A::ContactAdd => {
                let rest = stored.strip_prefix("status=")?;
                let (status, source) = rest.split_once(" source=")?;
                Some(Self::ContactAdded {
                    status: status.parse().ok()?,
                    source: source.parse().ok()?,
                })
            }
            A::ContactEdit => {
                let rest = stored.strip_prefix("fields=")?;
                let (fields, status) = match rest.split_once(" status=") {
                    Some((fields, status)) => (fields, Some(status_change(status)?)),
                    None => (rest, None),
                };
                Some(Self::ContactEdited {
                    fields: split_list(fields, ","),
                    status,
                })
            }
            A::ContactResetBounce => Some(Self::BounceCleared {
                note: stored
                    .split_once(" note=")
                    .map_or(stored, |(_, note)| note)
                    .to_owned(),
            }),
            A::ContactUnsubscribe => {
                (stored == LEFT_LAST_PUBLICATION).then_some(Self::LeftLastPublication)
            }
            A::ContactLeavePublication => {
                let slug = stored.trim();
                (!slug.is_empty() && !slug.contains(char::is_whitespace)).then(|| {
                    Self::PublicationLeft {
                        slug: slug.to_owned(),
                    }
                })
            }
            A::ContactPublications => {
                let (joined, left) = stored.strip_prefix("joined: ")?.split_once("; left: ")?;
                Some(Self::PublicationsChosen {
                    joined: split_list(joined, ","),
                    left: split_list(left, ","),
                })
            }
            A::ContactBounced => Some(Self::HardBounces(
                stored.strip_suffix(" hard bounces")?.parse().ok()?,
            )),
            A::ContactDuplicateAddress => read_same_mailbox(stored),
            A::ContactsImport => read_import(stored),
            A::ContactExport => Some(Self::CopyMade {
                format: stored.strip_prefix("format=")?.to_owned(),
            }),
            A::IssueSend => {
                let (added, resumed) = stored.strip_prefix("queued ")?.split_once(", resumed ")?;
                Some(Self::Queued {
                    added: added.parse().ok()?,
                    resumed: resumed.parse().ok()?,
                })
            }
            A::IssueCancel => Some(Self::Cancelled(
                stored.strip_prefix("cancelled ")?.parse().ok()?,
            )),
            A::IssueRetryFailed => Some(Self::Requeued(
                stored.strip_prefix("queued ")?.parse().ok()?,
            )),
            A::IssuePlanSend => Some(Self::PlannedFor(instant(stored.strip_prefix("at ")?)?)),
            A::IssuePlanMissed => {
                Some(Self::PlanMissed(instant(stored.strip_prefix("planned ")?)?))
            }
            A::IssueTestSend => Some(Self::TestCopyTo(stored.to_owned())),
            A::IssueExportLedger => {
                let (n, noun) = stored.split_once(' ')?;
                matches!(noun, "levering" | "leveringer").then_some(())?;
                Some(Self::Ledger(n.parse().ok()?))
            }
            A::IssueImportDocx => serde_json::from_str::<Vec<serde_json::Value>>(stored)
                .ok()
                .map(|omissions| Self::WordOmissions(omissions.len())),
            A::PublicationAdd => Some(Self::PublicationAdded(
                PublicationKind::parse(stored.strip_prefix("kind=")?).ok()?,
            )),
            A::PublicationEdit => Some(Self::PublicationEdited(split_list(stored, ","))),
            A::SettingsEdit => Some(Self::SettingsEdited(split_list(stored, ","))),
            A::StaffAdd => (stored == "administrator").then_some(Self::Administrator),
            A::StaffLogin => (stored == SECOND_FACTOR_DUE).then_some(Self::SecondFactorDue),
            A::StaffLoginFailed => match stored {
                NO_SUCH_ACCOUNT => Some(Self::NoSuchAccount),
                WRONG_SET_UP_CODE => Some(Self::WrongSetUpCode),
                _ => None,
            },
            A::InboundAnswer => InboundKind::parse(stored).map(Self::Answered),
            A::InboundHandled => (stored == SENDER_ADDED).then_some(Self::SenderAdded),
            A::ApiTokenAdd => ApiScope::parse(stored.strip_prefix("scope: ")?).map(Self::Scope),
            A::BackupMade => {
                let json: serde_json::Value = serde_json::from_str(stored).ok()?;
                Some(Self::Backup {
                    path: json.get("path")?.as_str()?.to_owned(),
                    bytes: json.get("bytes")?.as_u64()?,
                    contacts: contacts_in(&json),
                })
            }
            A::DatabaseRestored => {
                let json: serde_json::Value = serde_json::from_str(stored).ok()?;
                Some(Self::Restored {
                    from: json.get("from")?.as_str()?.to_owned(),
                    replaced: json
                        .get("replaced")
                        .and_then(|r| r.as_str())
                        .map(str::to_owned),
                    contacts: contacts_in(&json),
                })
            }
            A::RetentionRun => {
                let json: serde_json::Value = serde_json::from_str(stored).ok()?;
                let number = |key: &str| json.get(key).and_then(serde_json::Value::as_u64);
                Some(Self::Retention {
                    inbound_emptied: number("inbound_emptied")?,
                    unconfirmed_removed: number("unconfirmed_removed")?,
                    inbound_days: number("inbound_retention_days")?,
                    pending_days: number("pending_retention_days")?,
                })
            }
            _ => None,
        }
    }
}

/// The stored detail of [`AuditDetail::LeftLastPublication`].
const LEFT_LAST_PUBLICATION: &str = "left the last publication";
const SECOND_FACTOR_DUE: &str = "password; second factor due";
const NO_SUCH_ACCOUNT: &str = "unknown account";
const WRONG_SET_UP_CODE: &str = "wrong set-up code";
const SENDER_ADDED: &str = "sender added as contact";

/// The stored form, as the store writes it.
impl fmt::Display for AuditDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ContactAdded { status, source } => {
                write!(f, "status={status} source={}", source.as_str())
            }
            Self::ContactEdited { fields, status } => {
                write!(f, "fields={}", fields.join(","))?;
                if let Some((from, to)) = status {
                    write!(f, " status={from}->{to}")?;
                }
                Ok(())
            }
            Self::BounceCleared { note } => write!(f, "status=bounced->confirmed note={note}"),
            Self::LeftLastPublication => f.write_str(LEFT_LAST_PUBLICATION),
            Self::PublicationLeft { slug } => f.write_str(slug),
            Self::PublicationsChosen { joined, left } => {
                let list = |items: &[String]| {
                    if items.is_empty() {
                        "-".to_owned()
                    } else {
                        items.join(", ")
                    }
                };
                write!(f, "joined: {}; left: {}", list(joined), list(left))
            }
            Self::HardBounces(n) => write!(f, "{n} hard bounces"),
            Self::SameMailbox {
                id,
                email,
                same_as,
                same_as_email,
            } => write!(
                f,
                "contact #{id} ({email}) is the same mailbox as contact #{same_as} ({same_as_email}): not merged; remove one of them"
            ),
            Self::Imported {
                file,
                rows,
                inserted,
                updated,
                refused,
            } => write!(
                f,
                "file={file} rows={rows} inserted={inserted} updated={updated} rejected={refused}"
            ),
            Self::Queued { added, resumed } => write!(f, "queued {added}, resumed {resumed}"),
            Self::Cancelled(n) => write!(f, "cancelled {n}"),
            Self::Requeued(n) => write!(f, "queued {n}"),
            Self::PlannedFor(at) => write!(f, "at {}", at.to_rfc3339()),
            Self::PlanMissed(at) => write!(f, "planned {}", at.to_rfc3339()),
            Self::PublicationAdded(kind) => write!(f, "kind={}", kind.as_str()),
            Self::PublicationEdited(fields) | Self::SettingsEdited(fields) => {
                f.write_str(&fields.join(", "))
            }
            Self::Administrator => f.write_str("administrator"),
            Self::SecondFactorDue => f.write_str(SECOND_FACTOR_DUE),
            Self::NoSuchAccount => f.write_str(NO_SUCH_ACCOUNT),
            Self::WrongSetUpCode => f.write_str(WRONG_SET_UP_CODE),
            Self::Answered(kind) => f.write_str(kind.as_str()),
            Self::SenderAdded => f.write_str(SENDER_ADDED),
            Self::Scope(scope) => write!(f, "scope: {}", scope.as_str()),
            Self::CopyMade { format } => write!(f, "format={format}"),
            Self::TestCopyTo(address) => f.write_str(address),
            Self::Ledger(n) => f.write_str(&super::count(*n, "levering", "leveringer")),
            Self::Backup {
                path,
                bytes,
                contacts,
            } => {
                let json = serde_json::json!({ "path": path, "bytes": bytes, "rows": { "contacts": contacts } });
                write!(f, "{json}")
            }
            Self::Restored {
                from,
                replaced,
                contacts,
            } => {
                let json = serde_json::json!({ "from": from, "replaced": replaced, "rows": { "contacts": contacts } });
                write!(f, "{json}")
            }
            Self::Retention {
                inbound_emptied,
                unconfirmed_removed,
                inbound_days,
                pending_days,
            } => {
                let json = serde_json::json!({
                    "inbound_emptied": inbound_emptied,
                    "unconfirmed_removed": unconfirmed_removed,
                    "inbound_retention_days": inbound_days,
                    "pending_retention_days": pending_days,
                });
                write!(f, "{json}")
            }
            Self::WordOmissions(n) => write!(f, "[{}]", vec!["{}"; *n].join(",")),
            Self::Words(text) => f.write_str(text),
        }
    }
}

fn status_change(stored: &str) -> Option<(ContactStatus, ContactStatus)> {
    let (from, to) = stored.split_once("->")?;
    Some((from.parse().ok()?, to.parse().ok()?))
}

fn split_list(stored: &str, separator: &str) -> Vec<String> {
    stored
        .split(separator)
        .map(str::trim)
        .filter(|item| !item.is_empty() && *item != "-")
        .map(str::to_owned)
        .collect()
}

fn instant(stored: &str) -> Option<Timestamp> {
    Timestamp::parse_date(stored).ok()
}

fn read_same_mailbox(stored: &str) -> Option<AuditDetail> {
    let rest = stored.strip_prefix("contact #")?;
    let (first, rest) = rest.split_once(" is the same mailbox as contact #")?;
    let (second, _) = rest.split_once(": not merged")?;
    let numbered = |text: &str| -> Option<(String, String)> {
        let (id, email) = text.split_once(" (")?;
        Some((id.to_owned(), email.strip_suffix(')')?.to_owned()))
    };
    let (id, email) = numbered(first)?;
    let (same_as, same_as_email) = numbered(second)?;
    Some(AuditDetail::SameMailbox {
        id,
        email,
        same_as,
        same_as_email,
    })
}

/// `file=<label> rows=… inserted=… updated=… rejected=…`: the label may hold spaces,
/// so the numbers are read from the end.
fn read_import(stored: &str) -> Option<AuditDetail> {
    let rest = stored.strip_prefix("file=")?;
    let (file, numbers) = rest.rsplit_once(" rows=")?;
    let mut values = numbers.split(' ');
    let rows = values.next()?.parse().ok()?;
    let mut field = |name: &str| -> Option<i64> { values.next()?.strip_prefix(name)?.parse().ok() };
    let inserted = field("inserted=")?;
    let updated = field("updated=")?;
    let refused = field("rejected=")?;
    Some(AuditDetail::Imported {
        file: file.to_owned(),
        rows,
        inserted,
        updated,
        refused,
    })
}

fn contacts_in(json: &serde_json::Value) -> Option<u64> {
    json.get("rows")?.get("contacts")?.as_u64()
}
