//! The `gazette` command line: serving (the default), and the operator's commands: applying
//! migrations, giving an account a role or complimentary access, importing article files, the
//! newsletter (sending an article, a send's counts, the suppressed addresses), adding a picture
//! to the media library and creating an offer.
//!
//! Rules: every command reads the same settings as the server; whatever goes wrong is one
//! plain line on stderr naming what to fix (`gazette: ...`) and a non-zero exit code, never a
//! backtrace; the database is created and migrated before any command uses it, so each works
//! on a fresh install.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand, ValueEnum};
use diesel::{Connection, PgConnection};
use time::OffsetDateTime;

use crate::billing::grants;
use crate::config::{Settings, redact_url};
use crate::db;
use crate::db::newsletter_sends::Counts;
use crate::demo;
use crate::desk::{self, Import};
use crate::domain::article::{self, Stage};
use crate::domain::email;
use crate::domain::ids::ArticleId;
use crate::domain::role::Role;
use crate::lifecycle::Stopped;
use crate::media::store::PostgresStore;
use crate::media::{MediaLibrary, Upload};
use crate::moving::members::write_ghost_csv;
use crate::newsletter::sending::{self, Audience, Started};
use crate::startup::{Application, Overrides};
use crate::views::{date_and_time, media_markdown};

#[derive(Parser, Debug)]
#[command(
    name = "gazette",
    version,
    about = "Gazette, a paid online publication. Without a command, it serves the site."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the site until SIGTERM or Ctrl-C (what `gazette` alone does).
    Serve,
    /// Create the database if it is missing and apply the migrations.
    Migrate,
    /// Accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Import articles from Markdown files with a small header (title, author, published,
    /// premium, teaser, then a `---` line). A publication time ahead schedules the article.
    Import {
        #[arg(required = true, value_name = "FILE.md")]
        files: Vec<PathBuf>,
    },
    /// The newsletter: e-mail a published article to the list (once), follow a send, and the
    /// addresses suppressed after their server refused them for good.
    Newsletter {
        #[command(subcommand)]
        command: NewsletterCommand,
    },
    /// The media library: pictures articles may use.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
    /// Offers: a discount or a free trial on a plan, under a code (`/offer/CODE`).
    Offer {
        #[command(subcommand)]
        command: OfferCommand,
    },
    /// Members (every account), for moving to or from another platform.
    Members {
        #[command(subcommand)]
        command: MembersCommand,
    },
}

#[derive(Subcommand, Debug)]
enum MembersCommand {
    /// Write every account as Ghost's members CSV (id, email, name, note,
    /// subscribed_to_emails, complimentary_plan, stripe_customer_id, created_at, deleted_at,
    /// labels, tiers), to standard output or a file.
    Export {
        /// The file to write (replaced if it exists); standard output without it.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum OfferCommand {
    /// Create an offer: a discount (--percent-off or --amount-off, with --duration) or a free
    /// trial (--trial-days) on a plan.
    Create(OfferArgs),
}

#[derive(clap::Args, Debug)]
struct OfferArgs {
    /// Letters, digits, '-' and '_' (at most 40); case does not matter.
    #[arg(long)]
    code: String,
    /// The plan's code (monthly, yearly).
    #[arg(long)]
    plan: String,
    #[arg(long, value_name = "N", conflicts_with_all = ["amount_off", "trial_days"])]
    percent_off: Option<i32>,
    /// In the plan's currency's smallest unit (cents).
    #[arg(long, value_name = "CENTS", conflicts_with = "trial_days")]
    amount_off: Option<i32>,
    /// once, forever or months:N (a discount only).
    #[arg(long, conflicts_with = "trial_days")]
    duration: Option<String>,
    #[arg(long, value_name = "N")]
    trial_days: Option<i32>,
    /// The last day it can be taken (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    ends: Option<String>,
    /// How many readers may take it.
    #[arg(long, value_name = "N")]
    limit: Option<i32>,
    /// Offered once to a subscriber who cancels.
    #[arg(long)]
    retention: bool,
}

#[derive(Subcommand, Debug)]
enum MediaCommand {
    /// Add a picture to the library and print the addresses of its variants.
    ///
    /// The file (JPEG, PNG, WebP or GIF, at most MEDIA_MAX_BYTES) is taken as an upload from
    /// the desk is. The addresses of its variants are printed one a line, narrowest first:
    /// full URLs starting with PUBLIC_URL when it is set, else paths
    /// (`/media/<hash>-<width>.<ext>`). The Markdown that places it in an article is said on
    /// stderr.
    Add {
        /// The picture's file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// What the picture shows, for readers who cannot see it (`--alt ""` for none yet).
        #[arg(long, value_name = "TEXT")]
        alt: String,
    },
}

#[derive(Subcommand, Debug)]
enum NewsletterCommand {
    /// Queue a published article for everyone on the list (or the subscribers only); the
    /// running instances send it. An article is e-mailed at most once.
    Send {
        article_id: i64,
        #[arg(long = "to", value_enum, default_value = "all")]
        to: AudienceName,
    },
    /// How a send stands: queued, sent, failed, skipped as suppressed, uncertain.
    Status { article_id: i64 },
    /// List the suppressed addresses, or lift one (`--lift EMAIL`) so it is mailed again.
    Suppressions {
        #[arg(long, value_name = "EMAIL")]
        lift: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum AudienceName {
    All,
    Subscribers,
}

impl From<AudienceName> for Audience {
    fn from(name: AudienceName) -> Self {
        match name {
            AudienceName::All => Audience::All,
            AudienceName::Subscribers => Audience::Subscribers,
        }
    }
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Give the account with this e-mail a role: editor (writes and publishes), admin (also
    /// grants the editor role) or reader.
    SetRole { email: String, role: RoleName },
    /// Give the account with this e-mail complimentary access: it reads everything until the
    /// end of the date (UTC), with no payment, and the access ends by itself. Giving it again
    /// moves the date; `--remove` ends it now.
    Comp {
        email: String,
        /// The last day of the access, YYYY-MM-DD (today or later).
        #[arg(
            long,
            value_name = "YYYY-MM-DD",
            required_unless_present = "remove",
            conflicts_with = "remove"
        )]
        until: Option<String>,
        /// End the account's complimentary access now.
        #[arg(long)]
        remove: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleName {
    Reader,
    Editor,
    Admin,
}

impl From<RoleName> for Role {
    fn from(name: RoleName) -> Self {
        match name {
            RoleName::Reader => Role::Reader,
            RoleName::Editor => Role::Editor,
            RoleName::Admin => Role::Admin,
        }
    }
}

/// Runs the command line `args` (the program's name first).
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => return fail(&one_line(&error.render().to_string())),
    };
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => return serve(settings),
        Command::Migrate => migrate(&settings),
        Command::User {
            command: UserCommand::SetRole { email, role },
        } => set_role(&settings, &email, role.into()),
        Command::User {
            command: UserCommand::Comp { email, until, .. },
        } => comp(&settings, &email, until.as_deref()),
        Command::Import { files } => import(&settings, &files),
        Command::Newsletter { command } => newsletter(&settings, command),
        Command::Media {
            command: MediaCommand::Add { file, alt },
        } => add_picture(&settings, &file, &alt),
        Command::Offer {
            command: OfferCommand::Create(args),
        } => create_offer(&settings, args),
        Command::Members {
            command: MembersCommand::Export { output },
        } => export_members(&settings, output.as_deref()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// clap's message on one line: its first line, and the possible values when it lists them.
fn one_line(rendered: &str) -> String {
    rendered
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Usage:")
                && !line.starts_with("For more information")
        })
        .map(|line| line.trim_start_matches("error: "))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Start-up problems are the operator's to fix: one plain line, no backtrace.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("gazette: {error}");
    ExitCode::FAILURE
}

fn serve(settings: Settings) -> ExitCode {
    let logging = match crate::telemetry::init(settings.app_env, &settings.log_filter) {
        Ok(logging) => logging,
        Err(error) => return fail(&error),
    };
    // Process-wide, once: password hashing's large blocks go back to the system when freed.
    crate::allocator::return_large_blocks_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    let outcome = runtime.block_on(async {
        logging.report_dropped();
        let app = match Application::build(settings, Overrides::default()).await {
            Ok(app) => app,
            Err(error) => return fail(&error),
        };
        match app.run_until_signalled().await {
            Ok(Stopped::Gracefully) => ExitCode::SUCCESS,
            Ok(Stopped::AtOnce) => ExitCode::FAILURE,
            Err(error) => fail(&error),
        }
    });
    // Blocking work still running past the shutdown deadline is abandoned rather than waited
    // for: the process must end within the bound the operator set.
    runtime.shutdown_background();
    // The log writer's queue is written out here, before the process exits.
    drop(logging);
    outcome
}

/// The database, created and migrated, and a connection to it.
fn database(settings: &Settings) -> Result<PgConnection, String> {
    db::prepare(&settings.database_url).map_err(|e| e.to_string())?;
    PgConnection::establish(&settings.database_url).map_err(|e| {
        format!(
            "DATABASE_URL: cannot connect to {}: {}",
            redact_url(&settings.database_url),
            e.to_string().trim()
        )
    })
}

fn migrate(settings: &Settings) -> Result<(), String> {
    database(settings)?;
    println!(
        "The database at {} is ready: every migration is applied.",
        redact_url(&settings.database_url)
    );
    Ok(())
}

fn set_role(settings: &Settings, address: &str, role: Role) -> Result<(), String> {
    let address = email::normalise(address);
    let mut conn = database(settings)?;
    let found = db::users::set_role(&mut conn, &address, role)
        .map_err(|e| format!("changing the role of {address}: {e}"))?;
    if !found {
        return Err(format!(
            "no account has the e-mail {address}: sign up on the site first, then run this again"
        ));
    }
    let article = if role == Role::Reader { "a" } else { "an" };
    println!("{address} is now {article} {role}.");
    Ok(())
}

/// Gives complimentary access until a date, or (`until` absent: `--remove`) ends it now.
fn comp(settings: &Settings, address: &str, until: Option<&str>) -> Result<(), String> {
    let address = email::normalise(address);
    let mut conn = database(settings)?;
    let now = OffsetDateTime::now_utc();
    let Some(until) = until else {
        let removed = grants::remove(&mut conn, &address, now)
            .map_err(|e| format!("removing the complimentary access of {address}: {e}"))?
            .map_err(|refused| format!("{address}: {}", refused.message()))?;
        if removed {
            println!("{address} no longer has complimentary access.");
        } else {
            println!("{address} had no complimentary access running; nothing changed.");
        }
        return Ok(());
    };
    let comped = grants::give(&mut conn, &address, until, None, now)
        .map_err(|e| format!("giving complimentary access to {address}: {e}"))?
        .map_err(|refused| format!("{address}: {}", refused.message()))?;
    println!(
        "{address} has complimentary access until {} (UTC){}.",
        comped.until,
        if comped.moved {
            ", moved from the earlier date"
        } else {
            ""
        }
    );
    Ok(())
}

/// Writes every account as Ghost's members CSV; the count goes to standard error, so the
/// file alone goes to standard output.
fn export_members(settings: &Settings, output: Option<&std::path::Path>) -> Result<(), String> {
    let mut conn = database(settings)?;
    let now = OffsetDateTime::now_utc();
    let written = match output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("creating {}: {e}", path.display()))?;
            write_ghost_csv(&mut conn, std::io::BufWriter::new(file), now)
        }
        None => write_ghost_csv(&mut conn, std::io::stdout().lock(), now),
    }
    .map_err(|e| format!("exporting the members: {e}"))?;
    match output {
        Some(path) => eprintln!("{written} members written to {}.", path.display()),
        None => eprintln!("{written} members written."),
    }
    Ok(())
}

fn import(settings: &Settings, files: &[PathBuf]) -> Result<(), String> {
    let mut articles = Vec::with_capacity(files.len());
    for file in files {
        let name = file.display();
        let source = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
        let parsed = demo::parse(&source).map_err(|e| format!("{name}: {e}"))?;
        let fields = article::Fields {
            title: parsed.title,
            slug: String::new(),
            byline: parsed.author,
            teaser: parsed.teaser,
            body: parsed.body_markdown,
            premium: parsed.is_premium,
            ..article::Fields::default()
        };
        let draft = article::check(&fields).map_err(|errors| {
            let problems: Vec<String> = [
                ("title", errors.title),
                ("author", errors.byline),
                ("teaser", errors.teaser),
                ("body", errors.body),
            ]
            .into_iter()
            .filter_map(|(field, message)| message.map(|m| format!("{field}: {m}")))
            .collect();
            format!("{name}: {}", problems.join("; "))
        })?;
        articles.push(Import {
            draft,
            published_at: parsed.published_at,
        });
    }
    let mut conn = database(settings)?;
    let now = time::OffsetDateTime::now_utc();
    let imported = desk::import(&mut conn, &articles, now).map_err(|error| match error {
        desk::ImportError::Refused { index, message } => match files.get(index) {
            Some(file) => format!("{}: {message}", file.display()),
            None => message,
        },
        desk::ImportError::Database(e) => format!("importing the articles: {e}"),
    })?;
    for (file, made) in files.iter().zip(&imported) {
        let stage = match made.stage {
            Stage::Scheduled(at) => format!("scheduled for {}", date_and_time(at)),
            _ => "published".to_string(),
        };
        println!("{}: {} ({stage})", file.display(), made.path);
    }
    Ok(())
}

fn newsletter(settings: &Settings, command: NewsletterCommand) -> Result<(), String> {
    let mut conn = database(settings)?;
    let now = time::OffsetDateTime::now_utc();
    match command {
        NewsletterCommand::Send { article_id, to } => {
            let id = ArticleId::new(article_id);
            let started = sending::start(&mut conn, id, to.into(), None, now)
                .map_err(|e| format!("starting the send of article {id}: {e}"))?;
            match started {
                Started::Queued { counts, .. } => {
                    println!(
                        "Article {id} is queued for {} reader(s){}; the running instances send it.",
                        counts.queued,
                        skipped(&counts)
                    );
                    Ok(())
                }
                Started::AlreadySent { send, counts } => {
                    println!(
                        "Article {id} was already e-mailed (started {}): nothing new was queued. {}",
                        date_and_time(send.started_at),
                        described(&counts)
                    );
                    Ok(())
                }
                Started::NotPublished => Err(format!(
                    "article {id} is not published: publish it first, then send it"
                )),
                Started::Unknown => Err(format!("no article has the id {id}")),
            }
        }
        NewsletterCommand::Status { article_id } => {
            let id = ArticleId::new(article_id);
            match sending::status(&mut conn, id)
                .map_err(|e| format!("reading the send of article {id}: {e}"))?
            {
                Some((send, counts)) => {
                    println!(
                        "Article {id}, to {} (started {}): {}",
                        send.audience,
                        date_and_time(send.started_at),
                        described(&counts)
                    );
                    Ok(())
                }
                None => Err(format!("article {id} was never e-mailed")),
            }
        }
        NewsletterCommand::Suppressions {
            lift: Some(address),
        } => {
            let address = email::normalise(&address);
            let lifted = db::newsletter_sends::lift(&mut conn, &address)
                .map_err(|e| format!("lifting the suppression of {address}: {e}"))?;
            if !lifted {
                return Err(format!("{address} is not suppressed"));
            }
            println!("{address} is no longer suppressed: later newsletters are mailed to it.");
            Ok(())
        }
        NewsletterCommand::Suppressions { lift: None } => {
            let all = db::newsletter_sends::suppressions(&mut conn)
                .map_err(|e| format!("listing the suppressed addresses: {e}"))?;
            if all.is_empty() {
                println!("No address is suppressed.");
            }
            for row in all {
                println!(
                    "{}\t{}\t{}",
                    row.email,
                    date_and_time(row.suppressed_at),
                    row.reason.replace(['\n', '\r', '\t'], " ")
                );
            }
            Ok(())
        }
    }
}

/// Adds a picture through the media library, as the desk's upload does (the same limits and
/// processing), and prints its variants' addresses.
fn add_picture(settings: &Settings, file: &Path, alt: &str) -> Result<(), String> {
    let shown = file.display();
    let bytes =
        read_at_most(file, settings.media.max_bytes).map_err(|e| format!("{shown}: {e}"))?;
    database(settings)?;
    let pool = db::pool(&settings.database_url, 2);
    let library = MediaLibrary::new(
        pool.clone(),
        Arc::new(PostgresStore::new(pool)),
        &settings.media,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let upload = Upload {
        bytes,
        original_name: file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        alt: alt.to_string(),
        uploader: None,
    };
    let added = runtime
        .block_on(library.add(upload))
        .map_err(|e| format!("{shown}: {e}"))?;
    let base = settings.public_url.as_deref().unwrap_or_default();
    for variant in &added.variants {
        println!("{base}{}", variant.path());
    }
    let picture = &added.picture;
    let markdown = media_markdown(&picture.alt, picture.id);
    eprintln!(
        "Picture {} ({} × {}){}; in an article's text: {markdown}",
        picture.id,
        picture.width,
        picture.height,
        if added.already_there {
            " was already in the library, its alt text as it was"
        } else {
            " added"
        }
    );
    Ok(())
}

/// The file's bytes, at most `limit` and one more (so a larger file is refused as too large
/// without being read whole).
fn create_offer(settings: &Settings, args: OfferArgs) -> Result<(), String> {
    use crate::domain::offer::{Deal, Lasting, Off};
    let deal = match (args.percent_off, args.amount_off, args.trial_days) {
        (None, None, Some(days)) => Deal::Trial { days },
        (percent, amount, None) if percent.is_some() != amount.is_some() => {
            let lasting = match args.duration.as_deref() {
                None => Lasting::Once,
                Some(raw) => Lasting::parse(raw).ok_or_else(|| {
                    format!("--duration: '{raw}' is not once, forever or months:N (1 to 36)")
                })?,
            };
            let off = match (percent, amount) {
                (Some(percent), _) => Off::Percent(percent),
                (_, Some(cents)) => Off::Amount(cents),
                _ => return Err("give --percent-off or --amount-off".to_string()),
            };
            Deal::Discount { off, lasting }
        }
        _ => {
            return Err(
                "give one of --percent-off N, --amount-off CENTS or --trial-days N".to_string(),
            );
        }
    };
    let last_day = match args.ends.as_deref() {
        None => None,
        Some(raw) => Some(
            time::Date::parse(
                raw,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| format!("--ends: '{raw}' is not a date like 2027-03-31"))?,
        ),
    };
    let terms = crate::billing::OfferTerms {
        code: args.code,
        plan_code: args.plan,
        deal,
        last_day,
        limit: args.limit,
        retention: args.retention,
    };
    let mut conn = database(settings)?;
    let code = crate::billing::create_offer(&mut conn, &terms, time::OffsetDateTime::now_utc())
        .map_err(|error| error.to_string())?;
    let site = settings.public_url.as_deref().unwrap_or("");
    println!("Offer {code} created: {site}/offer/{code}");
    Ok(())
}

fn read_at_most(file: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn skipped(counts: &Counts) -> String {
    if counts.suppressed > 0 {
        format!(" ({} skipped as suppressed)", counts.suppressed)
    } else {
        String::new()
    }
}

fn described(counts: &Counts) -> String {
    format!(
        "audience {}: {} queued, {} sending, {} sent, {} failed, {} skipped as suppressed, {} uncertain",
        counts.audience(),
        counts.queued,
        counts.sending,
        counts.sent,
        counts.failed,
        counts.suppressed,
        counts.uncertain
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_serves() {
        let cli = Cli::try_parse_from(["gazette"]).unwrap();
        assert!(cli.command.is_none());
    }

    #[test]
    fn the_operators_commands_parse() {
        let cli = Cli::try_parse_from(["gazette", "user", "set-role", "a@b.co", "editor"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::SetRole {
                    role: RoleName::Editor,
                    ..
                }
            })
        ));
        assert!(
            Cli::try_parse_from(["gazette", "import"]).is_err(),
            "a file is needed"
        );
        let cli = Cli::try_parse_from(["gazette", "media", "add", "a.jpg", "--alt", ""]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Media {
                command: MediaCommand::Add { .. }
            })
        ));
        assert!(
            Cli::try_parse_from(["gazette", "media", "add", "a.jpg"]).is_err(),
            "the alt text is asked for"
        );
    }

    #[test]
    fn a_wrong_command_line_is_one_line_naming_the_problem() {
        let error =
            Cli::try_parse_from(["gazette", "user", "set-role", "a@b.co", "boss"]).unwrap_err();
        let line = one_line(&error.render().to_string());
        assert!(!line.contains('\n'));
        assert!(line.contains("boss") && line.contains("editor"), "{line}");
    }
}
