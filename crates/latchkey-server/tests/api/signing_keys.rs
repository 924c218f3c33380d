//! Signing-key algorithms: rotating a tenant to ES256 and back, what the key sets publish,
//! and that a token cannot choose its own algorithm.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, assert_problem, on_both_backends};

on_both_backends!(
    es256_rotation_signs_tokens_the_key_sets_verify,
    rotation_refuses_unknown_algorithms,
    tokens_cannot_choose_their_algorithm,
);

const ROTATE: &str = "/api/v1/tenants/default/keys/rotate";

fn token_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// Verifies `token` with the JWK `key` the way a resource server would.
fn verify_with_jwk(token: &str, key: &Value) -> Value {
    let (decoding, algorithm) = match key["kty"].as_str().unwrap() {
        "EC" => (
            jsonwebtoken::DecodingKey::from_ec_components(
                key["x"].as_str().unwrap(),
                key["y"].as_str().unwrap(),
            )
            .unwrap(),
            jsonwebtoken::Algorithm::ES256,
        ),
        "RSA" => (
            jsonwebtoken::DecodingKey::from_rsa_components(
                key["n"].as_str().unwrap(),
                key["e"].as_str().unwrap(),
            )
            .unwrap(),
            jsonwebtoken::Algorithm::RS256,
        ),
        other => panic!("unexpected kty {other}"),
    };
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .unwrap()
        .claims
}

async fn es256_rotation_signs_tokens_the_key_sets_verify(app: TestApp) {
    let rsa_token = app.admin_token().await;
    assert_eq!(token_header(&rsa_token)["alg"], "RS256");

    let rotated = app
        .call(
            Method::POST,
            ROTATE,
            Some(&rsa_token),
            Some(json!({"algorithm": "ES256"})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    assert_eq!(rotated.body["algorithm"], "ES256");
    let kid = rotated.body["kid"].as_str().unwrap().to_owned();

    // The RS256 token signed before the rotation still works; new ones are ES256.
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&rsa_token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let ec_token = app.admin_token().await;
    let header = token_header(&ec_token);
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("ES256"), Some(kid.as_str()))
    );
    let me = app
        .call(Method::GET, "/api/v1/me", Some(&ec_token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    // Both key sets publish the P-256 key first and the RSA key after it, and each
    // verifies the tokens of its own algorithm.
    for path in [
        "/api/v1/tenants/default/jwks.json",
        "/realms/default/protocol/openid-connect/certs",
    ] {
        let set = app.call(Method::GET, path, None, None).await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        let keys = set.body["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2, "{path}");
        let (ec, rsa) = (&keys[0], &keys[1]);
        assert_eq!(ec["kid"], kid.as_str());
        assert_eq!(
            (ec["kty"].as_str(), ec["crv"].as_str(), ec["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(ec.get("n").is_none(), "{ec}");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(ec["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(ec["y"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(rsa["kty"], "RSA");
        assert!(rsa.get("x").is_none(), "{rsa}");
        assert_eq!(
            verify_with_jwk(&ec_token, ec)["sub"],
            me.body["account"]["id"]
        );
        assert_eq!(
            verify_with_jwk(&rsa_token, rsa)["sub"],
            me.body["account"]["id"]
        );
    }

    // The realm document's public key is the same P-256 key as DER SubjectPublicKeyInfo.
    let realm = app.call(Method::GET, "/realms/default", None, None).await;
    let der = STANDARD
        .decode(realm.body["public_key"].as_str().unwrap())
        .unwrap();
    let certs = app
        .call(
            Method::GET,
            "/realms/default/protocol/openid-connect/certs",
            None,
            None,
        )
        .await;
    let ec = &certs.body["keys"][0];
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(ec["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(ec["y"].as_str().unwrap()).unwrap());
    assert_eq!(der.len(), 91);
    assert!(der.ends_with(&point));
    let discovery = app
        .call(
            Method::GET,
            "/realms/default/.well-known/openid-configuration",
            None,
            None,
        )
        .await;
    assert_eq!(
        discovery.body["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );

    // A rotation without a body keeps the active key's algorithm; one naming RS256
    // goes back. The ES256 key then stays published as the previous key.
    let again = app.call(Method::POST, ROTATE, Some(&ec_token), None).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["algorithm"], "ES256");
    let back = app
        .call(
            Method::POST,
            ROTATE,
            Some(&ec_token),
            Some(json!({"algorithm": "RS256"})),
        )
        .await;
    assert_eq!(back.status, StatusCode::CREATED, "{}", back.body);
    assert_eq!(back.body["algorithm"], "RS256");
    assert_eq!(token_header(&app.admin_token().await)["alg"], "RS256");
}

async fn rotation_refuses_unknown_algorithms(app: TestApp) {
    let admin = app.admin_token().await;
    for body in [
        json!({"algorithm": "HS256"}),
        json!({"algorithm": "none"}),
        json!({"algorithm": "es256"}),
    ] {
        let reply = app
            .call(Method::POST, ROTATE, Some(&admin), Some(body))
            .await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "validation_failed");
        assert!(
            reply.body["detail"].as_str().unwrap().contains("ES256"),
            "{}",
            reply.body
        );
    }
    let unknown_field = app
        .call(
            Method::POST,
            ROTATE,
            Some(&admin),
            Some(json!({"alg": "ES256"})),
        )
        .await;
    assert_eq!(
        unknown_field.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown_field.body
    );
    // A body that is not declared as JSON is refused rather than ignored.
    let request = app
        .http
        .post(app.url(ROTATE))
        .bearer_auth(&admin)
        .body("algorithm=ES256");
    let untyped = TestApp::read(request.send().await.unwrap()).await;
    assert_eq!(
        untyped.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        untyped.body
    );
    // Nothing was rotated by the refused requests.
    let jwks = app
        .call(Method::GET, "/api/v1/tenants/default/jwks.json", None, None)
        .await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 1);
}

async fn tokens_cannot_choose_their_algorithm(app: TestApp) {
    let admin = app.admin_token().await;
    let rotated = app
        .call(
            Method::POST,
            ROTATE,
            Some(&admin),
            Some(json!({"algorithm": "ES256"})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    let token = app.admin_token().await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // The ES256 key's id with another algorithm in the header: refused, whatever the
    // signature, because the key decides the algorithm.
    for alg in ["RS256", "HS256", "none"] {
        let mut header = token_header(&token);
        header["alg"] = json!(alg);
        parts[0] = URL_SAFE_NO_PAD.encode(header.to_string());
        let forged = parts.join(".");
        let me = app
            .call(Method::GET, "/api/v1/me", Some(&forged), None)
            .await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{alg}: {}", me.body);
    }
}
