//! Logging to stderr: human-readable by default, JSON lines with `log_format = "json"`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Sets up logging once. `RUST_LOG` overrides the level. The service logs at info;
/// one-shot commands only warn, so their stdout stays the output a script reads.
pub fn init(settings: &Settings, service: bool) {
    let default = if service { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour codes only for a person at a terminal: a log file or journal gets plain
    // text, so an escape sequence in it can only have come from elsewhere.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
