use std::process::ExitCode;

use clap::Parser;
use nyhetsbrev::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            // One line: the error and its causes, e.g. "could not open the database …: …".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
