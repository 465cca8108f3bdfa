//! The command line: `serve` (the default), `print-config`, and admin tasks.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::domain::accounts::{Creator, Registration, register};
use crate::http::extract::random_token;

#[derive(Parser)]
#[command(name = "pengyou", version, about = "pengyou (朋友): photo and video notes, in Chinese and English")]
struct Cli {
    /// A TOML configuration file; environment variables (PENGYOU_*, DATABASE_URL) override it.
    #[arg(long, global = true, env = "PENGYOU_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Print the effective configuration, with secrets hidden.
    PrintConfig,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account. Prints a generated password unless --password-stdin is given.
    CreateUser {
        /// The new account's username.
        username: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Languages the person reads, e.g. zh,en.
        #[arg(long, value_delimiter = ',')]
        languages: Vec<String>,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("pengyou: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::PrintConfig = command {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pengyou: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve | Command::PrintConfig => crate::server::serve(config).await,
            Command::Admin(AdminCommand::CreateUser { username, admin, password_stdin, languages }) => {
                create_user(config, username, admin, password_stdin, languages).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("pengyou: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn create_user(
    config: Config,
    username: String,
    admin: bool,
    password_stdin: bool,
    languages: Vec<String>,
) -> Result<(), String> {
    let state = crate::server::build_state(config).await?;
    let (password, generated) = if password_stdin {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).map_err(|e| format!("cannot read the password: {e}"))?;
        (input.trim_end_matches(['\n', '\r']).to_owned(), false)
    } else {
        (random_token(), true)
    };
    let account = register(
        &state,
        Registration { username, password: password.clone(), languages, ..Registration::default() },
        Creator::Admin { make_admin: admin },
    )
    .await
    .map_err(|e| format!("cannot create the account: {} ({})", e.message(), e.code()))?;
    println!(
        "Created {}@{} (id {}){}",
        account.username,
        state.config.domain(),
        account.id,
        if admin { ", an admin" } else { "" }
    );
    if generated {
        println!("Password: {password}");
    }
    Ok(())
}
