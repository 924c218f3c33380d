//! Form bodies of the OAuth endpoints, parsed leniently: some clients (squonk2) send them
//! without percent-encoding, so stray `%` or `+` must not break parsing; empty fields
//! (`code=&redirect_uri=` from python-keycloak) count as absent.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use base64::Engine as _;

use super::error::OAuthError;

/// The fields of a form body; the first occurrence of a name wins.
pub struct Form {
    fields: HashMap<String, String>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = HashMap::new();
        // `form_urlencoded` decodes what is valid and keeps invalid escapes as they are.
        for (name, value) in form_urlencoded::parse(body) {
            if !value.is_empty() {
                fields
                    .entry(name.into_owned())
                    .or_insert_with(|| value.into_owned());
            }
        }
        Self { fields }
    }

    /// Every field, for endpoints that take many optional parameters.
    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.fields.iter().map(|(k, v)| (k.clone(), v.clone()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter: {name}")))
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    OAuthError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalid_request",
                        "request bodies are limited to 64 KiB",
                    )
                } else {
                    OAuthError::invalid_request("the request body could not be read")
                }
            })?;
        Ok(Self::parse(&bytes))
    }
}

/// Client credentials as presented: HTTP Basic (`client_secret_basic`, both parts
/// form-encoded per RFC 6749 §2.3.1) or form fields (`client_secret_post`).
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<String>,
}

fn presented_client(
    headers: &axum::http::HeaderMap,
    form: &Form,
) -> Result<PresentedClient, OAuthError> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, encoded)) = value.split_once(' ')
        && scheme.eq_ignore_ascii_case("basic")
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(OAuthError::invalid_client)?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        let unescape = |text: &str| -> String {
            form_urlencoded::parse(format!("v={text}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Ok(PresentedClient {
            client_id: unescape(id),
            secret: Some(unescape(secret)),
        });
    }
    let client_id = form
        .get("client_id")
        .ok_or_else(OAuthError::invalid_client)?;
    Ok(PresentedClient {
        client_id: client_id.to_owned(),
        secret: form.get("client_secret").map(str::to_owned),
    })
}

/// The realm and the client authenticated for a request to one of its endpoints.
pub async fn realm_and_client(
    state: &crate::api::AppState,
    realm: &str,
    headers: &axum::http::HeaderMap,
    form: &Form,
) -> Result<(latchkey_core::Tenant, latchkey_core::Application), OAuthError> {
    let tenant = state.tenant_by_domain(realm).await?;
    let presented = presented_client(headers, form)?;
    let client = state
        .authenticate_client(&tenant, &presented.client_id, presented.secret.as_deref())
        .await?;
    Ok((tenant, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unencoded_bodies_and_empty_fields_are_tolerated() {
        let form = Form::parse(b"client_id=admin-cli&grant_type=password&username=bob@x&password=p&a+s s%&code=&redirect_uri=");
        assert_eq!(form.get("username"), Some("bob@x"));
        // The raw `&` splits the password: the client's bug, but parsing goes on.
        assert_eq!(form.get("password"), Some("p"));
        assert_eq!(form.get("a s s%"), None);
        assert_eq!(form.get("code"), None);
        assert!(form.require("redirect_uri").is_err());
        let encoded = Form::parse(b"password=pw%26%2B&scope=openid+email");
        assert_eq!(encoded.get("password"), Some("pw&+"));
        assert_eq!(encoded.get("scope"), Some("openid email"));
        let garbage = Form::parse(&[0xff, b'=', 0xfe, b'%']);
        assert!(garbage.get("x").is_none());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = axum::http::HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%3Aapp:s%2Bcret");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        let client = presented_client(&headers, &Form::parse(b"")).unwrap();
        assert_eq!(client.client_id, "my:app");
        assert_eq!(client.secret.as_deref(), Some("s+cret"));
    }
}
