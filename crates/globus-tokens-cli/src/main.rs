//! `globus-tokens`: log in to Globus, inspect stored tokens, print a valid token, migrate stores.
//!
//! Data goes to standard output (text or `--format json`), progress and errors to standard
//! error; an error is one line, never a backtrace, never a secret. Exit codes: 0 ok, 1 error,
//! 2 usage, 3 login required.

mod cli;
mod commands;
mod error;
mod external;
mod output;
mod store;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::commands::Context;
use crate::error::{CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE, one_line};
use crate::output::Output;

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(
            std::io::stderr(),
            "globus-tokens: internal error: {}",
            one_line(&info.to_string())
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    let out = Output {
        format: cli.global.format,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
    };
    let context = Context {
        global: cli.global,
        out,
    };
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&context, &cli.command)));
    match outcome {
        Ok(Ok(())) => ExitCode::from(EXIT_OK),
        Ok(Err(err)) => {
            let _ = writeln!(
                std::io::stderr(),
                "globus-tokens: error: {}",
                one_line(&err.message)
            );
            ExitCode::from(err.code)
        }
        Err(_) => ExitCode::from(EXIT_ERROR),
    }
}

fn run(context: &Context, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Login(args) => external::login(context, args),
        Command::List => commands::list(context),
        Command::Show {
            resource_server,
            show_secrets,
        } => commands::show(context, resource_server, *show_secrets),
        Command::Token { resource_server } => commands::token(context, resource_server),
        Command::Refresh { resource_servers } => commands::refresh(context, resource_servers),
        Command::Logout { resource_servers } => commands::logout(context, resource_servers),
        Command::Migrate(args) => commands::migrate(context, args),
        Command::CreateTable { provisioned } => external::create_table(context, *provisioned),
    }
}

/// Help and version go to standard output with status 0; usage errors are one line, status 2.
fn clap_exit(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(
                if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    EXIT_USAGE
                } else {
                    EXIT_OK
                },
            )
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line");
            let message = first.strip_prefix("error: ").unwrap_or(first);
            let _ = writeln!(
                std::io::stderr(),
                "globus-tokens: error: {} (see --help)",
                one_line(message)
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}
