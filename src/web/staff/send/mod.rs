//! Sending an issue: the checklist before and the start (confirmed by typing the number
//! of recipients; now, or planned and perhaps approved by another account), a test copy,
//! and the progress and report after, with pause, resume, sending again to those whose
//! delivery failed for a passing reason, and the ledger's CSV.

mod checklist;
mod ledger;
mod report;
mod start;

pub use checklist::checklist;
pub use ledger::{ledger_by_get, ledger_csv};
pub use report::{pause, progress_json, report, resume, retry_failed};
pub use start::{approve, cancel_plan, start, test_copy};
