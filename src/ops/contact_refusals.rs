//! Why a contact operation was refused: typed, each naming the field it concerns, so
//! that every front end words it once (the command line in English through `Display`,
//! the staff pages in bokmål) and shows it where it belongs.

use std::fmt;

use crate::domain::{ChangeError, ConsentPart, ConsentProblem};

/// The field of a contact a refusal concerns: a form shows the refusal there, the
/// command line names its option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    Email,
    ConsentSource,
    ConsentDate,
    ConsentNote,
}

/// A refusal of a contact operation: what the staff member asked breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactRefusal {
    /// Consent that cannot be recorded as given (see `Consent::problems_as_staff_record`).
    #[error(transparent)]
    Consent(ConsentProblem),
    /// The address (in any letter case or domain form) is another contact's.
    #[error("{0} is already on the list")]
    AlreadyOnList(String),
    /// Confirming someone who left or bounced needs new consent (the rule is
    /// `Contact::with_changes`'s, kept there once).
    #[error(transparent)]
    NewConsentRequired(ChangeError),
    /// Someone else changed the contact between reading and saving.
    #[error("{0} was changed by someone else at the same time: try again")]
    ChangedMeanwhile(String),
    /// Only a bounced contact is put back with a note.
    #[error("{0} has not bounced: only a bounced contact can be put back this way")]
    NotBounced(String),
}

impl ContactRefusal {
    /// The field the refusal concerns; `None` for one about the whole contact.
    pub fn field(&self) -> Option<ContactField> {
        match self {
            ContactRefusal::Consent(problem) => Some(match problem.part() {
                ConsentPart::Source => ContactField::ConsentSource,
                ConsentPart::Date => ContactField::ConsentDate,
                ConsentPart::Note => ContactField::ConsentNote,
            }),
            ContactRefusal::AlreadyOnList(_) => Some(ContactField::Email),
            ContactRefusal::NewConsentRequired(_) => Some(ContactField::ConsentNote),
            ContactRefusal::ChangedMeanwhile(_) | ContactRefusal::NotBounced(_) => None,
        }
    }
}

/// Every refusal of one request at once (a form shows each at its field); never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusals(Vec<ContactRefusal>);

impl Refusals {
    /// `None` when there is nothing to refuse.
    pub fn of(refusals: Vec<ContactRefusal>) -> Option<Self> {
        (!refusals.is_empty()).then_some(Self(refusals))
    }

    pub fn one(refusal: ContactRefusal) -> Self {
        Self(vec![refusal])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ContactRefusal> {
        self.0.iter()
    }
}

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, refusal) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusals {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_their_field_and_read_as_one_line() {
        let refusals = Refusals::of(vec![
            ContactRefusal::Consent(ConsentProblem::DateInFuture),
            ContactRefusal::Consent(ConsentProblem::NoteMissing),
        ])
        .unwrap();
        let fields: Vec<_> = refusals.iter().map(ContactRefusal::field).collect();
        assert_eq!(
            fields,
            [
                Some(ContactField::ConsentDate),
                Some(ContactField::ConsentNote)
            ]
        );
        let line = refusals.to_string();
        assert!(
            line.contains("give the day the person asked; a consent note is required"),
            "{line}"
        );
        assert!(Refusals::of(Vec::new()).is_none());
    }
}
