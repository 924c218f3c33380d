//! The client, its session and the request machinery (URLs, bearer tokens, refresh).

use std::sync::Arc;
use std::time::Duration;

use latchkey_api::{RefreshRequest, SignInRequest, TokenResponse, codes};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::{DecodeError, Error, api_error};
use crate::secret::{Secret, Session, unix_now};

/// Refresh the access token when it expires within this many seconds.
pub const REFRESH_MARGIN_SECS: i64 = 30;

/// An async client of one Latchkey server. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) session: Arc<Mutex<Option<Session>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// What a successful sign-in tells about the account. The tokens themselves are kept in
/// the client's [`Session`].
#[derive(Clone, Debug, PartialEq)]
pub struct SignedIn {
    pub account: latchkey_api::AccountView,
    pub tenant: latchkey_api::TenantView,
    /// The OpenID Connect ID token of the sign-in.
    pub id_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl Client {
    /// A client without a session, for the server at `base_url` (its root, e.g.
    /// `http://127.0.0.1:8080`; a path prefix such as `https://host/auth` is kept).
    pub fn new(base_url: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("latchkey-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()?;
        Self::with_http_client(http, base_url)
    }

    /// A client that resumes a stored session.
    pub fn with_session(base_url: &str, session: Session) -> Result<Self, Error> {
        let mut client = Self::new(base_url)?;
        client.session = Arc::new(Mutex::new(Some(session)));
        Ok(client)
    }

    /// A client that sends through a `reqwest::Client` configured by the caller.
    pub fn with_http_client(http: reqwest::Client, base_url: &str) -> Result<Self, Error> {
        Ok(Self {
            http,
            base: parse_base_url(base_url)?,
            session: Arc::new(Mutex::new(None)),
        })
    }

    /// The server root this client talks to.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Whether requests go unencrypted (`http://`) to a host other than this machine
    /// (`localhost`, `127.0.0.0/8` or `::1`): passwords and tokens would cross the network
    /// in clear.
    pub fn is_cleartext_remote(&self) -> bool {
        self.base.scheme() == "http" && !is_loopback_host(&self.base)
    }

    /// The current session (with the newest tokens), if signed in.
    pub async fn session(&self) -> Option<Session> {
        self.session.lock().await.clone()
    }

    /// Replaces (or with `None`, forgets) the session.
    pub async fn set_session(&self, session: Option<Session>) {
        *self.session.lock().await = session;
    }

    /// Signs in to `tenant` (its domain) and keeps the tokens as the client's session.
    pub async fn sign_in(
        &self,
        tenant: &str,
        login: &str,
        password: &str,
    ) -> Result<SignedIn, Error> {
        self.sign_in_with_totp(tenant, login, password, None).await
    }

    /// [`Client::sign_in`] with a second factor: the current code of the account's
    /// authenticator app, or one of its recovery codes. Without one, an account with
    /// multi-factor authentication gets an error whose [`Error::code`] is `mfa_required`
    /// (`invalid_totp` for a wrong or reused code). In a tenant that requires it, an
    /// account without one gets `mfa_enrollment_required` with an
    /// [`Error::enrolment_token`] to enrol one ([`Client::begin_mfa_enrolment`]).
    pub async fn sign_in_with_totp(
        &self,
        tenant: &str,
        login: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Result<SignedIn, Error> {
        let url = self.endpoint(&["tenants", tenant, "sign-in"])?;
        let body = SignInRequest {
            login: login.to_owned(),
            password: password.to_owned(),
            totp: totp.map(str::to_owned),
        };
        let resp = self.send(Method::POST, url, Some(&body), None).await?;
        self.keep_session(tenant, resp).await
    }

    /// Begins enrolling an authenticator app with the enrolment token of a sign-in
    /// refused with `mfa_enrollment_required` ([`Error::enrolment_token`]); the answer
    /// holds the secret, the otpauth URI, a QR code and the recovery codes, shown only
    /// this once. Beginning again replaces the pending enrolment.
    pub async fn begin_mfa_enrolment(
        &self,
        tenant: &str,
        enrolment_token: &Secret,
    ) -> Result<latchkey_api::TotpEnrolmentView, Error> {
        let url = self.endpoint(&["tenants", tenant, "sign-in", "mfa-enrolment"])?;
        let body = latchkey_api::MfaEnrolmentRequest {
            enrolment_token: enrolment_token.expose().to_owned(),
        };
        let resp = self.send(Method::POST, url, Some(&body), None).await?;
        decode(resp, "TotpEnrolmentView").await
    }

    /// Activates the authenticator begun with [`Client::begin_mfa_enrolment`] with its
    /// first code and signs in, keeping the tokens as the client's session. The
    /// enrolment token is spent.
    pub async fn confirm_mfa_enrolment(
        &self,
        tenant: &str,
        enrolment_token: &Secret,
        code: &str,
    ) -> Result<SignedIn, Error> {
        let url = self.endpoint(&["tenants", tenant, "sign-in", "mfa-enrolment", "confirm"])?;
        let body = latchkey_api::MfaEnrolmentConfirmRequest {
            enrolment_token: enrolment_token.expose().to_owned(),
            code: code.to_owned(),
        };
        let resp = self.send(Method::POST, url, Some(&body), None).await?;
        self.keep_session(tenant, resp).await
    }

    /// Keeps the tokens of a sign-in answer as the client's session.
    async fn keep_session(&self, tenant: &str, resp: Response) -> Result<SignedIn, Error> {
        let tokens: TokenResponse = decode(resp, "TokenResponse").await?;
        let session = Session::from_tokens(tenant.to_owned(), &tokens, unix_now());
        *self.session.lock().await = Some(session);
        Ok(SignedIn {
            id_token: Secret::new(tokens.id_token),
            expires_in: tokens.expires_in,
            account: tokens.account,
            tenant: tokens.tenant,
        })
    }

    /// Exchanges the refresh token for new tokens now, whatever the access token's expiry.
    pub async fn refresh(&self) -> Result<(), Error> {
        let guard = self.session.clone().lock_owned().await;
        if guard.is_none() {
            return Err(Error::NotSignedIn);
        }
        self.refresh_holding(guard).await.map(|_| ())
    }

    /// Signs out on the server. The local session is forgotten once the server has
    /// answered (even with an error, e.g. because the session was already revoked); after
    /// a transport error it is kept so that the caller may retry.
    pub async fn sign_out(&self) -> Result<(), Error> {
        let tenant = self.current_tenant().await?;
        let url = self.endpoint(&["tenants", &tenant, "sign-out"])?;
        let result = self.send_bearer::<()>(Method::POST, url, None).await;
        if !matches!(result, Err(Error::Transport(_))) {
            *self.session.lock().await = None;
        }
        result.map(|_| ())
    }

    pub(crate) async fn current_tenant(&self) -> Result<String, Error> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(|s| s.tenant.clone())
            .ok_or(Error::NotSignedIn)
    }

    /// `{base}/api/v1/{segments…}`, each segment percent-encoded.
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Result<Url, Error> {
        endpoint(&self.base, segments)
    }

    /// Sends a request without credentials; error statuses become `Error::Api`.
    pub(crate) async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
        token: Option<&Secret>,
    ) -> Result<Response, Error> {
        self.send_with(method, url, token, |request| with_json(request, body))
            .await
    }

    /// [`Client::send`] with the body (and its headers) attached by `attach`.
    async fn send_with(
        &self,
        method: Method,
        url: Url,
        token: Option<&Secret>,
        attach: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        check(attach(request).send().await?).await
    }

    /// Sends a request with the session's access token, refreshing it first when it is
    /// about to expire, and once more (then retrying once) if the server calls it invalid.
    pub(crate) async fn send_bearer<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Response, Error> {
        self.send_bearer_with(method, url, |request| with_json(request, body))
            .await
    }

    /// [`Client::send_bearer`] with the body attached by `attach` (called again for the
    /// retry).
    pub(crate) async fn send_bearer_with(
        &self,
        method: Method,
        url: Url,
        attach: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let token = self.fresh_access_token().await?;
        match self
            .send_with(method.clone(), url.clone(), Some(&token), &attach)
            .await
        {
            Err(err) if err.status() == Some(401) && err.code() == Some(codes::INVALID_TOKEN) => {
                let token = self.refresh_rejected(&token).await?;
                self.send_with(method, url, Some(&token), &attach).await
            }
            other => other,
        }
    }

    /// The access token, refreshed first if it expires within the margin.
    async fn fresh_access_token(&self) -> Result<Secret, Error> {
        let guard = self.session.clone().lock_owned().await;
        match guard.as_ref() {
            None => Err(Error::NotSignedIn),
            Some(s) if !s.expires_within(REFRESH_MARGIN_SECS, unix_now()) => {
                Ok(s.access_token.clone())
            }
            Some(_) => self.refresh_holding(guard).await,
        }
    }

    /// After the server refused `rejected`: refresh, unless a concurrent call already has
    /// (then its newer token is used, and the refresh token is not spent twice).
    async fn refresh_rejected(&self, rejected: &Secret) -> Result<Secret, Error> {
        let guard = self.session.clone().lock_owned().await;
        match guard.as_ref() {
            None => Err(Error::NotSignedIn),
            Some(s) if s.access_token != *rejected => Ok(s.access_token.clone()),
            Some(_) => self.refresh_holding(guard).await,
        }
    }

    /// Refreshes the session behind `guard` and returns the new access token. Runs as its
    /// own task holding the lock: if the caller gives up midway, the rotated refresh token
    /// the server sends back is still stored rather than lost.
    async fn refresh_holding(
        &self,
        mut guard: OwnedMutexGuard<Option<Session>>,
    ) -> Result<Secret, Error> {
        let client = self.clone();
        let task = tokio::spawn(async move {
            let Some(session) = guard.as_mut() else {
                return Err(Error::NotSignedIn);
            };
            let url = client.endpoint(&["tenants", &session.tenant, "token", "refresh"])?;
            let body = RefreshRequest {
                refresh_token: session.refresh_token.expose().to_owned(),
            };
            let resp = client.send(Method::POST, url, Some(&body), None).await?;
            let tokens: TokenResponse = decode(resp, "TokenResponse").await?;
            *session = Session::from_tokens(session.tenant.clone(), &tokens, unix_now());
            Ok(session.access_token.clone())
        });
        match task.await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => Err(Error::Cancelled),
        }
    }
}

fn with_json<B: Serialize + ?Sized>(request: RequestBuilder, body: Option<&B>) -> RequestBuilder {
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}

/// Error statuses become `Error::Api`.
async fn check(resp: Response) -> Result<Response, Error> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await?;
    Err(api_error(status.as_u16(), &body))
}

/// Reads a JSON body.
pub(crate) async fn decode<T: DeserializeOwned>(
    resp: Response,
    expected: &'static str,
) -> Result<T, Error> {
    let status = resp.status().as_u16();
    let body = resp.bytes().await?;
    serde_json::from_slice(&body).map_err(|e| Error::Decode(DecodeError::new(status, expected, &e)))
}

fn parse_base_url(base_url: &str) -> Result<Url, Error> {
    let mut url = Url::parse(base_url)
        .map_err(|e| Error::InvalidInput(format!("server URL {base_url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::InvalidInput(format!(
            "server URL {base_url:?}: must be an http:// or https:// URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidInput(
            "server URL: must not contain credentials".to_owned(),
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `localhost`, an address in `127.0.0.0/8`, or `::1` (also written as `::ffff:127.x.y.z`).
fn is_loopback_host(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // The URL parser has already normalised the host: lower case, IPv4 in dotted decimal,
    // IPv6 in brackets.
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, Error> {
    if let Some(bad) = segments
        .iter()
        .find(|s| s.is_empty() || **s == "." || **s == "..")
    {
        return Err(Error::InvalidInput(format!(
            "{bad:?} is not a valid path argument"
        )));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::InvalidInput("server URL cannot be a base".to_owned()))?
        .pop_if_empty()
        .extend(["api", "v1"])
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn base(s: &str) -> Url {
        parse_base_url(s).unwrap()
    }

    #[test]
    fn builds_endpoint_urls() {
        let url = endpoint(
            &base("http://127.0.0.1:8080"),
            &["tenants", "default", "sign-in"],
        );
        assert_eq!(
            url.unwrap().as_str(),
            "http://127.0.0.1:8080/api/v1/tenants/default/sign-in"
        );
    }

    #[test]
    fn keeps_a_path_prefix_with_or_without_slash() {
        for b in ["https://h.example/auth", "https://h.example/auth/"] {
            let url = endpoint(&base(b), &["me"]).unwrap();
            assert_eq!(url.as_str(), "https://h.example/auth/api/v1/me");
        }
    }

    #[test]
    fn percent_encodes_segments() {
        let url = endpoint(&base("http://h"), &["tenants", "a b/c?d#e%f", "users"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/api/v1/tenants/a%20b%2Fc%3Fd%23e%25f/users"
        );
    }

    #[test]
    fn refuses_dot_and_empty_segments() {
        for bad in ["", ".", ".."] {
            let err = endpoint(&base("http://h"), &["tenants", bad]).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
    }

    #[test]
    fn tells_cleartext_remote_servers() {
        let remote = |u: &str| Client::new(u).unwrap().is_cleartext_remote();
        for local in [
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://127.0.0.1:8080",
            "http://127.1.2.3/",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]/",
            "https://idp.example.com",
            "https://203.0.113.7",
        ] {
            assert!(!remote(local), "{local}");
        }
        for far in [
            "http://idp.example.com",
            "http://203.0.113.7:8080",
            "http://0.0.0.0:8080",
            "http://[2001:db8::1]/",
            "http://localhost.example.com",
            "http://128.0.0.1",
        ] {
            assert!(remote(far), "{far}");
        }
    }

    #[test]
    fn refuses_bad_base_urls() {
        for bad in ["not a url", "ftp://h", "mailto:a@b", "http://u:p@h"] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
        let url = parse_base_url("http://h/?x=1#f").unwrap();
        assert_eq!(url.as_str(), "http://h/");
    }
}
