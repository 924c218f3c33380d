//! `GET|POST /realms/{realm}/protocol/openid-connect/auth`: the authorization endpoint
//! with a server-rendered sign-in page (plain HTML and CSS, no external assets), protected
//! against cross-site request forgery by a double-submit token (a random value in an
//! HttpOnly, SameSite=Strict cookie that the form must echo). In a realm that requires
//! multi-factor authentication, a member without an authenticator enrols one on the way
//! (Keycloak's CONFIGURE_TOTP required action): the sign-in answers with the enrolment
//! page (see `enrolment_page.rs`), whose form comes back here with the first code.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::Tenant;
use latchkey_core::secret::{SecretString, constant_time_eq, generate_opaque_token};

use super::enrolment_page;
use super::form::Form;
use crate::api::AppState;
use crate::api::extract::ClientInfo;
use crate::services::{
    AuthorizationError, AuthorizationParams, ClientContext, EnrolmentConfirmation, EnrolmentError,
    IssuedTokens, ServiceError, SignIn, ValidAuthorization, authorize::with_query,
};

const CSRF_COOKIE: &str = "latchkey_csrf";

fn params_from(pairs: impl Iterator<Item = (String, String)>) -> AuthorizationParams {
    let mut params = AuthorizationParams::default();
    for (name, value) in pairs {
        if value.is_empty() {
            continue;
        }
        let slot = match name.as_str() {
            "client_id" => &mut params.client_id,
            "redirect_uri" => &mut params.redirect_uri,
            "response_type" => &mut params.response_type,
            "scope" => &mut params.scope,
            "state" => &mut params.state,
            "nonce" => &mut params.nonce,
            "code_challenge" => &mut params.code_challenge,
            "code_challenge_method" => &mut params.code_challenge_method,
            "prompt" => &mut params.prompt,
            "max_age" => &mut params.max_age,
            "login_hint" => &mut params.login_hint,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    params
}

/// `GET …/auth`: checks the request and shows the sign-in page.
pub async fn page(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    request: Request,
) -> Response {
    let query = request
        .uri()
        .query()
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let params =
        params_from(form_urlencoded::parse(&query).map(|(k, v)| (k.into_owned(), v.into_owned())));
    let tenant = match state.tenant_by_domain(&realm).await {
        Ok(tenant) => tenant,
        Err(_) => return error_page(StatusCode::NOT_FOUND, "This realm does not exist."),
    };
    match state.validate_authorization(&tenant, &params).await {
        Ok(valid) => sign_in_page(&state, &tenant.title, &params, &valid, None, StatusCode::OK),
        Err(error) => authorization_failure(error, &issuer_of(&state, &tenant)),
    }
}

/// `POST …/auth`: the sign-in form.
pub async fn submit(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    client_info: ClientInfo,
    form: Form,
) -> Response {
    let params = params_from(form.pairs());
    let tenant = match state.tenant_by_domain(&realm).await {
        Ok(tenant) => tenant,
        Err(_) => return error_page(StatusCode::NOT_FOUND, "This realm does not exist."),
    };
    let valid = match state.validate_authorization(&tenant, &params).await {
        Ok(valid) => valid,
        Err(error) => return authorization_failure(error, &issuer_of(&state, &tenant)),
    };
    let csrf_ok = match (cookie(&headers, CSRF_COOKIE), form.get("csrf")) {
        (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return sign_in_page(
            &state,
            &tenant.title,
            &params,
            &valid,
            Some("The form expired. Please sign in again."),
            StatusCode::FORBIDDEN,
        );
    }
    // The enrolment page's form carries the token; the sign-in form never does.
    if let Some(enrolment_token) = form.get("enrolment_token") {
        let confirmation = EnrolmentConfirmation {
            tenant_domain: &realm,
            enrolment_token,
            code: form.get("code").unwrap_or_default(),
            user_agent: client_info.user_agent,
            ip_address: client_info.ip_address,
            client: ClientContext::of(&valid.application),
            session_lifetime: Some(crate::services::authorize::PENDING_SESSION_LIFETIME),
        };
        return confirm_enrolment(&state, &tenant, &params, &valid, confirmation).await;
    }
    let (Some(login), Some(password)) = (form.get("username"), form.get("password")) else {
        return sign_in_page(
            &state,
            &tenant.title,
            &params,
            &valid,
            Some("Enter your email or username and your password."),
            StatusCode::BAD_REQUEST,
        );
    };
    // Signing in opens the session the code will stand for. Its first refresh token is
    // never shown to anyone (the code exchange adds the one the client gets).
    let signed_in = state
        .sign_in_offering_enrolment(SignIn {
            tenant_domain: &realm,
            login,
            password: password.to_owned(),
            totp: form.get("totp").map(str::to_owned),
            user_agent: client_info.user_agent,
            ip_address: client_info.ip_address,
            client: ClientContext::of(&valid.application),
            session_lifetime: Some(crate::services::authorize::PENDING_SESSION_LIFETIME),
        })
        .await;
    let refused = match signed_in {
        Ok((tokens, _)) => return code_redirect(&state, &tenant, &valid, &tokens).await,
        Err(EnrolmentError::Required { enrolment_token }) => {
            return begin_enrolment(&state, &tenant, &params, &valid, &enrolment_token).await;
        }
        Err(EnrolmentError::Service(error)) => error,
        // Only a confirmation looks tokens up; a sign-in never answers this.
        Err(EnrolmentError::InvalidToken) => ServiceError::InvalidCredentials,
    };
    let message = match refused {
        ServiceError::InvalidCredentials => "The email, username or password is incorrect.",
        ServiceError::TooManyAttempts { .. } => {
            "Too many failed attempts. Please wait and try again."
        }
        ServiceError::MfaRequired => {
            "Enter the code from your authenticator app, or a recovery code."
        }
        ServiceError::InvalidTotp => "The one-time code is incorrect or was already used.",
        error => return service_failure(error),
    };
    sign_in_page(
        &state,
        &tenant.title,
        &params,
        &valid,
        Some(message),
        StatusCode::UNAUTHORIZED,
    )
}

/// The sign-in succeeded: a code for the session it opened, sent to the client.
async fn code_redirect(
    state: &AppState,
    tenant: &Tenant,
    valid: &ValidAuthorization,
    tokens: &IssuedTokens,
) -> Response {
    match state
        .issue_authorization_code(tenant, valid, &tokens.context.session)
        .await
    {
        Ok(location) => redirect(&location),
        Err(error) => service_failure(error),
    }
}

/// The password was right but the realm requires an authenticator the account lacks
/// (Keycloak's CONFIGURE_TOTP required action): begins the enrolment with the refusal's
/// token and shows the new authenticator with a field for its first code.
async fn begin_enrolment(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizationParams,
    valid: &ValidAuthorization,
    enrolment_token: &SecretString,
) -> Response {
    let (message, status) = match state
        .begin_enrolment_with_token(tenant.domain.as_str(), enrolment_token.expose())
        .await
    {
        Ok(enrolment) => {
            return form_page(
                state,
                params,
                valid,
                StatusCode::OK,
                &format!("Set up an authenticator for {}", tenant.title),
                |hidden| enrolment_page::setup(&tenant.title, hidden, enrolment_token, &enrolment),
            );
        }
        Err(EnrolmentError::Service(ServiceError::Forbidden(_))) => {
            (ROLE_MAY_NOT_ENROL, StatusCode::FORBIDDEN)
        }
        // Activated elsewhere between the sign-in and now: the account has codes.
        Err(EnrolmentError::Service(ServiceError::Conflict(_))) => (
            "Enter the code from your authenticator app, or a recovery code.",
            StatusCode::UNAUTHORIZED,
        ),
        // Disabled or removed from the realm meanwhile: as if the password were wrong.
        Err(EnrolmentError::InvalidToken | EnrolmentError::Required { .. }) => (
            "The email, username or password is incorrect.",
            StatusCode::UNAUTHORIZED,
        ),
        Err(EnrolmentError::Service(error)) => return service_failure(error),
    };
    sign_in_page(state, &tenant.title, params, valid, Some(message), status)
}

const ROLE_MAY_NOT_ENROL: &str = "This realm requires multi-factor authentication, which your role may not set up. Please contact an administrator.";

/// The enrolment page's answer: activates the authenticator with its first code and
/// signs in, or asks again for the code (without a new secret: the pending one stays).
async fn confirm_enrolment(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizationParams,
    valid: &ValidAuthorization,
    confirmation: EnrolmentConfirmation<'_>,
) -> Response {
    let enrolment_token = confirmation.enrolment_token;
    if confirmation.code.trim().is_empty() {
        return enrolment_retry_page(
            state,
            tenant,
            params,
            valid,
            enrolment_token,
            "Enter the code from the app you just set up.",
            StatusCode::BAD_REQUEST,
        );
    }
    let (message, status) = match state.confirm_enrolment_with_token(confirmation).await {
        Ok((tokens, _)) => return code_redirect(state, tenant, valid, &tokens).await,
        Err(EnrolmentError::Service(ServiceError::InvalidTotp)) => (
            "The code is incorrect. Enter the code from the app you just set up.",
            StatusCode::UNAUTHORIZED,
        ),
        Err(EnrolmentError::Service(ServiceError::TooManyAttempts { .. })) => (
            "Too many failed attempts. Please wait and try again.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(EnrolmentError::Service(ServiceError::Forbidden(_))) => {
            return sign_in_page(
                state,
                &tenant.title,
                params,
                valid,
                Some(ROLE_MAY_NOT_ENROL),
                StatusCode::FORBIDDEN,
            );
        }
        // Unknown, expired or spent token, the pending enrolment dropped (a password
        // change) or activated elsewhere: the set-up is over, signing in starts afresh.
        Err(
            EnrolmentError::InvalidToken
            | EnrolmentError::Required { .. }
            | EnrolmentError::Service(ServiceError::NotFound(_) | ServiceError::Conflict(_)),
        ) => {
            return sign_in_page(
                state,
                &tenant.title,
                params,
                valid,
                Some(
                    "The authenticator set-up expired or was already finished. Please sign in again.",
                ),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(EnrolmentError::Service(error)) => return service_failure(error),
    };
    enrolment_retry_page(
        state,
        tenant,
        params,
        valid,
        enrolment_token,
        message,
        status,
    )
}

fn enrolment_retry_page(
    state: &AppState,
    tenant: &Tenant,
    params: &AuthorizationParams,
    valid: &ValidAuthorization,
    enrolment_token: &str,
    message: &str,
    status: StatusCode,
) -> Response {
    form_page(
        state,
        params,
        valid,
        status,
        &format!("Set up an authenticator for {}", tenant.title),
        |hidden| enrolment_page::retry(&tenant.title, hidden, enrolment_token, message),
    )
}

/// `issuer` goes into error redirects as RFC 9207's `iss`, as it does into successful ones.
fn authorization_failure(error: AuthorizationError, issuer: &str) -> Response {
    match error {
        AuthorizationError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizationError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => {
            let mut params = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(state) = &state {
                params.push(("state", state));
            }
            params.push(("iss", issuer));
            redirect(&with_query(&redirect_uri, &params))
        }
        AuthorizationError::Service(error) => service_failure(error),
    }
}

fn issuer_of(state: &AppState, tenant: &latchkey_core::Tenant) -> String {
    latchkey_core::token::issuer_for(&state.public_url, tenant.domain.as_str())
}

fn service_failure(error: ServiceError) -> Response {
    let correlation_id = latchkey_core::id::random_id();
    tracing::error!(%correlation_id, ?error, "authorization endpoint failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("Something went wrong. Quote this reference if you report it: {correlation_id}."),
    )
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure(response)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Headers every page and redirect of the endpoint carries.
fn secure(response: Response) -> Response {
    secure_for(response, None)
}

/// As [`secure`]; `redirect_origin` is where the form's answer may redirect to.
/// Chromium and WebKit apply `form-action` to the redirect that follows a form post
/// too, so the client's origin must be allowed or the browser stops at the 302.
fn secure_for(mut response: Response, redirect_origin: Option<&str>) -> Response {
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        redirect_origin.map(|o| format!(" {o}")).unwrap_or_default()
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:22rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.3rem;margin:0 0 1.5rem}label{display:block;margin:1rem 0 .3rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #8a93a5;border-radius:4px;font-size:1rem}\
input:focus{outline:3px solid #2f6fed;outline-offset:1px}\
button{margin-top:1.5rem;width:100%;padding:.7rem;border:0;border-radius:4px;background:#2457c5;color:#fff;font-size:1rem}\
.error{background:#fde8e8;border:1px solid #c81e1e;color:#7a1010;padding:.6rem;border-radius:4px}\
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}.qr svg{display:block;width:200px;height:200px;margin:1rem auto}\
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}\
.codes{columns:2;font-family:ui-monospace,monospace;padding-left:1.5rem}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title)
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = document(
        "Sign-in error",
        &format!("<h1>Cannot sign in</h1>{}", alert(message)),
    );
    secure((status, axum::response::Html(body)).into_response())
}

fn sign_in_page(
    state: &AppState,
    realm_title: &str,
    params: &AuthorizationParams,
    valid: &ValidAuthorization,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let alert = error.map(alert).unwrap_or_default();
    let hint = valid.login_hint.as_deref().map(escape).unwrap_or_default();
    let autofocus = if hint.is_empty() {
        ("autofocus", "")
    } else {
        ("", "autofocus")
    };
    form_page(
        state,
        params,
        valid,
        status,
        &format!("Sign in to {realm_title}"),
        |hidden| {
            format!(
                "<h1>Sign in to {realm}</h1>{alert}\
                 <form method=\"post\" autocomplete=\"on\">{hidden}\
                 <label for=\"username\">Email or username</label>\
                 <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required value=\"{hint}\" {}>\
                 <label for=\"password\">Password</label>\
                 <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required {}>\
                 <label for=\"totp\">One-time code (if you use an authenticator app)</label>\
                 <input id=\"totp\" name=\"totp\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\">\
                 <button type=\"submit\">Sign in</button></form>",
                autofocus.0,
                autofocus.1,
                realm = escape(realm_title),
            )
        },
    )
}

/// An error message as the pages announce it.
pub(super) fn alert(message: &str) -> String {
    format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))
}

/// A page whose form posts back to the endpoint: `body` gets the hidden fields that
/// carry the authorization request and a fresh double-submit token, which the response
/// also sets as the cookie.
fn form_page(
    state: &AppState,
    params: &AuthorizationParams,
    valid: &ValidAuthorization,
    status: StatusCode,
    title: &str,
    body: impl FnOnce(&str) -> String,
) -> Response {
    let csrf = generate_opaque_token();
    let mut hidden = String::new();
    for (name, value) in [
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("response_type", &params.response_type),
        ("scope", &params.scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
        ("max_age", &params.max_age),
    ] {
        if let Some(value) = value {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            ));
        }
    }
    hidden.push_str(&format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        csrf.expose()
    ));
    let mut response = (
        status,
        axum::response::Html(document(title, &body(&hidden))),
    )
        .into_response();
    let secure_flag = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=900{secure_flag}",
        csrf.expose()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    secure_for(response, origin_of(&valid.redirect_uri))
}

/// `scheme://host[:port]` of a validated (absolute, ASCII) redirect URI.
fn origin_of(uri: &str) -> Option<&str> {
    let scheme_end = uri.find("://")? + 3;
    let end = uri[scheme_end..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| scheme_end + i);
    Some(&uri[..end])
}
