//! Issues, from draft to sent: import or replace a draft, read it, preview it, send a
//! test copy, queue it, cancel it, and tell how the send is going. By concern:
//! `drafts` (import, the form, read, preview), `sending` (test copy, request, queue,
//! pause, retry, cancel, status, ledger), `approval` (the second account's approval and
//! its rule), `error` (the refusals).

mod approval;
mod drafts;
mod error;
mod sending;

pub use approval::{APPROVAL_QUARANTINE_MS, ApprovalBar, approval_bar};
pub use drafts::{DOCX_REPORT_ACTION, DocxImported, DraftImported, Preview};
pub use error::{IssueError, IssueField};
pub use sending::{SendRequested, SendStatus};

use crate::domain::TokenKey;
use crate::render::RenderContext;
use crate::store::Store;

/// The recipient shown in previews and test renders.
pub const PREVIEW_EMAIL: &str = "forhandsvisning@example.org";

/// The issue operations; cheap to clone.
#[derive(Clone)]
pub struct Issues {
    store: Store,
    render: RenderContext,
    /// `None`: nothing can be queued (every message is signed with it).
    token_key: Result<TokenKey, String>,
    /// `send_approval`: a second account approves every send.
    send_approval: bool,
}

impl Issues {
    /// `token_key`: the key, or why there is none (shown when a send is refused).
    pub fn new(store: Store, render: RenderContext, token_key: Result<TokenKey, String>) -> Self {
        Self {
            store,
            render,
            token_key,
            send_approval: false,
        }
    }

    /// With `true`, every send waits for a second staff account's approval.
    pub fn with_send_approval(mut self, send_approval: bool) -> Self {
        self.send_approval = send_approval;
        self
    }

    pub fn send_approval(&self) -> bool {
        self.send_approval
    }
}
