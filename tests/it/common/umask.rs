//! The umask is one for the whole test process: a test that needs a particular one sets
//! it through [`set`], which changes it for one test at a time and puts the old mask
//! back afterwards. (Other tests running meanwhile see the mask too; the only one set
//! here, 022, is the usual default and the one any test could expect.)

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The umask in force while this lives.
pub struct Umask {
    old: libc::mode_t,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Sets the process's umask to `mask` until the returned guard is dropped.
pub async fn set(mask: libc::mode_t) -> Umask {
    let turn = ONE_AT_A_TIME.lock().await;
    // SAFETY: umask only sets the process's file creation mask; it cannot fail.
    let old = unsafe { libc::umask(mask) };
    Umask { old, _turn: turn }
}

impl Drop for Umask {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::umask(self.old) };
    }
}
