//! Typed async SDK for Latchkey's native API (`/api/v1`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), latchkey_client::Error> {
//! let client = latchkey_client::Client::new("http://127.0.0.1:8080")?;
//! client.sign_in("default", "admin@example.com", "correct horse battery staple").await?;
//! let page = client.list_users("default", &Default::default()).await?;
//! for user in page.items {
//!     println!("{} {}", user.id, user.email);
//! }
//! // Refresh tokens rotate: persist the newest session after using the client.
//! let _session = client.session().await;
//! # Ok(())
//! # }
//! ```
//!
//! Access tokens are refreshed automatically: before a call when they expire within
//! [`REFRESH_MARGIN_SECS`], and once (with one retry) when the server answers
//! `invalid_token`. Concurrent calls on one client share a single refresh.

mod client;
mod endpoints;
mod error;
mod grants;
mod groups;
mod import;
mod prune;
mod secret;
mod workspaces;

pub use client::{Client, REFRESH_MARGIN_SECS, SignedIn};
pub use error::{DecodeError, Error, UNEXPECTED_RESPONSE};
pub use import::{ImportStopped, MAX_IMPORT_BATCH};
pub use latchkey_api as api;
pub use secret::{Secret, Session};
