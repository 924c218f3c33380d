//! The bodies of the authorization endpoint's enrolment pages (Keycloak's CONFIGURE_TOTP
//! required action): the new authenticator with a field for its first code, and the
//! page that asks for the code again. `authorize.rs` wraps them in the document, the
//! double-submit cookie and the security headers every page of the endpoint has; the
//! `hidden` fields it passes carry the authorization request and the CSRF token.
//!
//! The first page shows secrets (the QR code holds the TOTP secret too): the endpoint's
//! pages are all `Cache-Control: no-store`, and the second page never repeats them.

use latchkey_core::secret::SecretString;

use super::authorize::{alert, escape};
use crate::services::TotpEnrolment;

/// The page right after the password: the new (pending) authenticator as a QR code and
/// as text, its recovery codes, and the field for its first code.
pub(super) fn setup(
    realm_title: &str,
    hidden: &str,
    enrolment_token: &SecretString,
    enrolment: &TotpEnrolment,
) -> String {
    let recovery_codes: String = enrolment
        .recovery_codes
        .iter()
        .map(|code| format!("<li>{}</li>", escape(code.expose())))
        .collect();
    format!(
        "<h1>Set up an authenticator for {realm}</h1>\
         <p>{realm} requires a second factor. Scan this code with an authenticator app \
         (such as Google Authenticator, Microsoft Authenticator or FreeOTP).</p>\
         <div class=\"qr\">{qr}</div>\
         <p>Or enter this key in the app by hand: <code>{secret}</code></p>\
         <h2>Recovery codes</h2>\
         <p>Keep these codes somewhere safe. Each signs you in once if you lose your \
         phone; they are not shown again.</p><ol class=\"codes\">{recovery_codes}</ol>\
         {form}",
        realm = escape(realm_title),
        qr = inline_svg(&enrolment.qr_svg),
        secret = escape(enrolment.secret_base32.expose()),
        form = code_form(hidden, enrolment_token.expose()),
    )
}

/// The page after a wrong or missing first code: the message and the code field again.
/// The pending authenticator stays as it is, so the secret is not shown a second time.
pub(super) fn retry(
    realm_title: &str,
    hidden: &str,
    enrolment_token: &str,
    message: &str,
) -> String {
    format!(
        "<h1>Set up an authenticator for {realm}</h1>{alert}\
         <p>Enter the code from the app you just set up. If you did not finish setting \
         it up, sign in again to start over.</p>{form}",
        realm = escape(realm_title),
        alert = alert(message),
        form = code_form(hidden, enrolment_token),
    )
}

/// The form that confirms the enrolment: the token tells the endpoint it is not a
/// password post.
fn code_form(hidden: &str, enrolment_token: &str) -> String {
    format!(
        "<form method=\"post\" autocomplete=\"off\">{hidden}\
         <input type=\"hidden\" name=\"enrolment_token\" value=\"{token}\">\
         <label for=\"code\">Code from the app</label>\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required autofocus>\
         <button type=\"submit\">Activate and sign in</button></form>",
        token = escape(enrolment_token),
    )
}

/// Our own renderer's SVG document as an element of the page: without its XML
/// declaration, and labelled for screen readers.
fn inline_svg(document: &str) -> String {
    let element = document.find("<svg").map_or("", |start| &document[start..]);
    element.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    )
}
