//! `globus-tokens`: log in to Globus, inspect stored tokens, print a valid token, migrate stores.
//!
//! Data goes to standard output (text or `--format json`), progress and errors to standard
//! error; an error is one line, never a backtrace, never a secret. Exit codes: 0 ok, 1 error,
//! 2 usage, 3 login required.

mod cli;
mod commands;
mod error;
mod external;
mod globus_cli;
mod output;
mod services;
mod store;

use std::io::Write;
use std::process::ExitCode;

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
    let (mut cli, secret_in_arguments) = match parse() {
        Ok(parsed) => parsed,
        Err(err) => return clap_exit(&err),
    };
    init_tracing(cli.global.verbose);
    if secret_in_arguments {
        tracing::warn!(
            "--client-secret on the command line is visible to other users of this machine \
             (process list, shell history); prefer GLOBUS_CLIENT_SECRET"
        );
    }
    let out = Output {
        format: cli.global.format,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
    };
    if let Err(err) = store::resolve_app_stores(&mut cli) {
        return fail(&err);
    }
    let context = Context {
        global: cli.global,
        out,
    };
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&context, &cli.command)));
    match outcome {
        Ok(Ok(())) => ExitCode::from(EXIT_OK),
        Ok(Err(err)) => fail(&err),
        Err(_) => ExitCode::from(EXIT_ERROR),
    }
}

/// An error as one line on standard error, and its exit code.
fn fail(err: &CliError) -> ExitCode {
    let _ = writeln!(
        std::io::stderr(),
        "globus-tokens: error: {}",
        one_line(&err.message)
    );
    ExitCode::from(err.code)
}

fn run(context: &Context, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Login(args) => {
            globus_cli::refuse(context, "login", "globus login")?;
            external::login(context, args)
        }
        Command::List { resource_servers } => commands::list(context, resource_servers),
        Command::Show {
            resource_server,
            show_secrets,
        } => commands::show(context, resource_server, *show_secrets),
        Command::Token { resource_server } => commands::token(context, resource_server),
        Command::Introspect { resource_server } => services::introspect(context, resource_server),
        Command::Whoami => services::whoami(context),
        Command::Refresh { resource_servers } => commands::refresh(context, resource_servers),
        Command::Logout { resource_servers } => {
            globus_cli::refuse(context, "logout", "globus logout")?;
            commands::logout(context, resource_servers)
        }
        Command::Migrate(args) => commands::migrate(context, args),
        Command::CreateTable { provisioned } => external::create_table(context, *provisioned),
    }
}

/// The command line, and whether the client secret came from the arguments (rather than the
/// environment).
fn parse() -> Result<(Cli, bool), clap::Error> {
    use clap::parser::ValueSource;
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().try_get_matches()?;
    let from_arguments =
        |m: &clap::ArgMatches| m.value_source("client_secret") == Some(ValueSource::CommandLine);
    let secret_in_arguments = from_arguments(&matches)
        || matches
            .subcommand()
            .is_some_and(|(_, sub)| from_arguments(sub));
    Ok((Cli::from_arg_matches(&matches)?, secret_in_arguments))
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
            let _ = writeln!(
                std::io::stderr(),
                "globus-tokens: error: {} (see --help)",
                clap_message(&err.render().to_string())
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// clap's message without its usage and help lines, as one line: a missing argument's name is
/// on the line after "were not provided:", so the message is everything before "Usage:".
fn clap_message(rendered: &str) -> String {
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .collect();
    let message = one_line(&message.join(" "));
    let message = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_owned();
    if message.is_empty() {
        "invalid command line".to_owned()
    } else {
        message
    }
}

/// Library events on standard error: warnings always (such as TLS verification turned off),
/// `-v` adds info events (retries, renewals), `-vv` debug events.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .without_time()
        .with_target(verbose > 1)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn clap_messages_keep_the_missing_argument_name() {
        let err = Cli::try_parse_from(["globus-tokens", "token"]).unwrap_err();
        let message = clap_message(&err.render().to_string());
        assert!(message.contains("<RESOURCE_SERVER>"), "{message}");
        assert!(!message.contains("Usage"), "{message}");
    }
}
