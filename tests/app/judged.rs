//! Judged the way SAP will judge it: the sandbox against sap-apis.md part 2
//! (XSUAA grants and claims, find-destination per user and per type, CRUD
//! validation, Task Center status), and Verify run as a real customer user.

use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

fn claims(jwt: &str) -> Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let part = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&b64.decode(part).expect("b64")).expect("json")
}

fn header(jwt: &str) -> Value {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::from_slice(&b64.decode(jwt.split('.').next().expect("h")).expect("b64"))
        .expect("json")
}

async fn token_form(app: &TestApp, demo: &Value, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = client()
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth(
            demo["tc_clientid"].as_str().unwrap_or(""),
            Some(demo["tc_clientsecret"].as_str().unwrap_or("")),
        )
        .form(form)
        .send()
        .await
        .expect("token");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn xsuaa_issues_user_tokens_as_sap_does() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    let ada = person(&demo, "ada.admin@acme.example");
    let pw = ada["password"].as_str().unwrap_or_default();

    // authorization_code: a single-use code bound to client and redirect URI.
    let mut authorize = url::Url::parse(&app.sandbox_url("/oauth/authorize")).expect("url");
    authorize
        .query_pairs_mut()
        .append_pair("client_id", &d("tc_clientid"))
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "http://localhost")
        .append_pair("state", "s1");
    let r = sandbox_sign_in(authorize.as_str(), "ada.admin@acme.example", pw).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(
        to.starts_with("http://localhost/?code=") && to.ends_with("&state=s1"),
        "{to}"
    );
    let code = url::Url::parse(&to)
        .expect("u")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let (s, wrong) = token_form(
        &app,
        &demo,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:1/"),
        ],
    )
    .await;
    assert_eq!(
        (s, wrong["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The failed attempt used the code up, as UAA does: sign in again.
    let r = sandbox_sign_in(authorize.as_str(), "ada.admin@acme.example", pw).await;
    let to = r.headers()["location"].to_str().expect("loc").to_string();
    let code = url::Url::parse(&to)
        .expect("u")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost"),
    ];
    let (s, body) = token_form(&app, &demo, &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body["refresh_token"].is_string() && body["id_token"].is_string(),
        "{body}"
    );
    let (s, again) = token_form(&app, &demo, &form).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        again["error_description"],
        format!("Invalid authorization code: {code}")
    );

    // The user token carries SAP's claim set (A.7).
    let jwt = body["access_token"].as_str().expect("jwt");
    let c = claims(jwt);
    assert_eq!(header(jwt)["jku"], format!("{}/token_keys", d("uaa_url")));
    assert_eq!(c["ext_attr"]["enhancer"], "XSUAA");
    assert_eq!(c["ext_attr"]["subaccountid"], d("subaccount_id"));
    assert!(
        c["ext_attr"]["serviceinstanceid"].is_string() && c["ext_attr"]["zdn"] == d("subdomain")
    );
    assert_eq!(
        (c["azp"].clone(), c["cid"].clone()),
        (Value::from(d("tc_clientid")), Value::from(d("tc_clientid")))
    );
    assert_eq!(c["grant_type"], "authorization_code");
    assert_eq!(c["user_uuid"], ada["user_uuid"]);
    assert_eq!(
        c["user_name"], ada["user_uuid"],
        "subject name identifier: User UUID"
    );
    assert_eq!(c["origin"], "sap.custom");
    assert_eq!(
        c["xs.system.attributes"]["xs.rolecollections"][0],
        "TaskCenterAdmin"
    );
    assert!(c["scope"].is_array() && body["scope"].is_string());
    assert_eq!(c["iss"], format!("{}/oauth/token", d("uaa_url")));

    // A client-credentials token has no user claims (A.8).
    let (_, cc) = token_form(&app, &demo, &[("grant_type", "client_credentials")]).await;
    let cc = claims(cc["access_token"].as_str().expect("cc"));
    assert_eq!(cc["ext_attr"]["enhancer"], "XSUAA");
    for absent in [
        "user_name",
        "user_uuid",
        "origin",
        "email",
        "xs.system.attributes",
    ] {
        assert!(cc.get(absent).is_none(), "{absent}");
    }
    assert!(cc["authorities"].is_array() && cc["azp"] == d("tc_clientid"));

    // refresh_token, password (OIDC origin only), jwt-bearer to another client.
    let (s, refreshed) = token_form(
        &app,
        &demo,
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                body["refresh_token"].as_str().unwrap_or(""),
            ),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    let (s, bad) = token_form(
        &app,
        &demo,
        &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
    )
    .await;
    assert_eq!(
        (s, bad["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let hint = "%7B%22origin%22%3A%22sap.default%22%7D";
    let (s, saml) = token_form(
        &app,
        &demo,
        &[
            ("grant_type", "password"),
            ("username", "ada.admin@acme.example"),
            ("password", pw),
            ("login_hint", hint),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        saml["error_description"]
            .as_str()
            .unwrap_or("")
            .contains("does not match an active Identity Provider")
    );
    let (s, _) = token_form(
        &app,
        &demo,
        &[
            ("grant_type", "password"),
            ("username", "ada.admin@acme.example"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let exchanged: Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt),
            ("client_id", &d("dest_clientid")),
            ("client_secret", &d("dest_clientsecret")),
        ])
        .send()
        .await
        .expect("x")
        .json()
        .await
        .expect("j");
    let x = claims(exchanged["access_token"].as_str().expect("exchanged"));
    assert_eq!(x["cid"], d("dest_clientid"));
    assert_eq!(
        x["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(x["user_uuid"], ada["user_uuid"], "user claims kept");

    // Redirects other than localhost are refused as XSUAA does; grant type required.
    let mut evil = authorize.clone();
    evil.query_pairs_mut()
        .clear()
        .append_pair("client_id", &d("tc_clientid"))
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", "https://evil.example/cb");
    let r = client().get(evil.as_str()).send().await.expect("evil");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap_or_default().contains(
        "Invalid redirect: https://evil.example/cb does not match one of the registered values"
    ));
    let (s, none) = token_form(&app, &demo, &[]).await;
    assert_eq!(
        (s, none["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // The subject name identifier decides user_name (failure mode 19).
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("subject", "email")])
        .send()
        .await
        .expect("s");
    let t = user_token(&app, &demo, "ada.admin@acme.example").await;
    assert_eq!(claims(&t)["user_name"], "ada.admin@acme.example");
}

#[tokio::test]
async fn the_destination_service_validates_and_answers_per_type_and_user() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let token = dest_token(&app, &demo).await;
    let base = app.sandbox_url("/destination-configuration/v1");
    let post = |body: Value| {
        let (url, token) = (format!("{base}/subaccountDestinations"), token.clone());
        async move {
            client()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("post")
        }
    };
    let ok = serde_json::json!({"Name": "BASIC_ONE", "Type": "HTTP", "URL": "https://x.example", "ProxyType": "Internet", "Authentication": "BasicAuthentication", "User": "u", "Password": "p"});
    for (bad, why) in [
        (
            serde_json::json!({"Name": "with space", "Type": "HTTP", "URL": "https://x", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
            "space",
        ),
        (
            serde_json::json!({"Name": "a/b", "Type": "HTTP", "URL": "https://x", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
            "slash",
        ),
        (
            serde_json::json!({"Name": "N".repeat(201), "Type": "HTTP", "URL": "https://x", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
            "201",
        ),
        (
            serde_json::json!({"Name": "NO_TYPE", "URL": "https://x", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
            "type",
        ),
        (
            serde_json::json!({"Name": "NO_URL", "Type": "HTTP", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
            "url",
        ),
        (
            serde_json::json!({"Name": "ODD", "Type": "HTTP", "URL": "https://x", "ProxyType": "Internet", "Authentication": "Magic"}),
            "auth",
        ),
        (
            serde_json::json!({"Name": "NO_PW", "Type": "HTTP", "URL": "https://x", "ProxyType": "Internet", "Authentication": "BasicAuthentication", "User": "u"}),
            "password",
        ),
    ] {
        let r = post(bad).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(
            r.json::<Value>().await.expect("j")["ErrorMessage"].is_string(),
            "{why}"
        );
    }
    assert_eq!(
        post(serde_json::json!("N".repeat(200))).await.status(),
        StatusCode::BAD_REQUEST,
        "not an object"
    );
    let none = serde_json::json!({"Name": "NONE_ONE", "Type": "HTTP", "URL": "https://x.example", "ProxyType": "Internet", "Authentication": "NoAuthentication"});
    assert_eq!(
        post(serde_json::json!([ok, none])).await.status(),
        StatusCode::CREATED,
        "an array is accepted"
    );
    let find = |name: &str, user: Option<String>| {
        let (url, token) = (format!("{base}/destinations/{name}"), token.clone());
        async move {
            let mut rb = client().get(url).bearer_auth(token);
            if let Some(u) = user {
                rb = rb.header("X-user-token", u);
            }
            rb.send()
                .await
                .expect("find")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert!(
        find("NONE_ONE", None).await.get("authTokens").is_none(),
        "NoAuthentication: no authTokens"
    );
    let basic = find("BASIC_ONE", None).await;
    assert_eq!(basic["authTokens"][0]["type"], "Basic");
    assert!(basic["authTokens"][0].get("expires_in").is_none());

    // Expired tokens are refused.
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("token_validity", "1")])
        .send()
        .await
        .expect("s");
    let short = dest_token(&app, &demo).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = client()
            .get(format!("{base}/subaccountDestinations"))
            .bearer_auth(&short)
            .send()
            .await
            .expect("g");
        if r.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn task_center_shows_connectors_only_to_a_task_center_admin() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let token = dest_token(&app, &demo).await;
    let base = app.sandbox_url("/destination-configuration/v1/subaccountDestinations");
    let api = demo["s4_host"]
        .as_str()
        .unwrap_or("")
        .replacen(".s4hana", "-api.s4hana", 1);
    let dest = |name: &str, enabled: &str| {
        serde_json::json!({"Name": name, "Type": "HTTP", "URL": format!("https://{api}"), "ProxyType": "Internet",
            "Authentication": "OAuth2SAMLBearerAssertion", "audience": format!("https://{}", demo["s4_host"].as_str().unwrap_or("")),
            "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:X509", "clientKey": demo["comm_user"],
            "tokenServiceURL": format!("https://{api}/sap/bc/sec/oauth2/token"), "tokenServiceUser": demo["comm_user"],
            "tokenServicePassword": demo["comm_password"], "userIdSource": "user_uuid", "tc.enabled": enabled, "tc.provider_type": "S/4HANACloud"})
    };
    for (name, enabled) in [
        ("S4_OK", "true"),
        ("S4_PAUSED", "false"),
        (&*"L".repeat(65), "true"),
    ] {
        let r = client()
            .post(&base)
            .bearer_auth(&token)
            .json(&dest(name, enabled))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let connectors = app.sandbox_url("/task-center-service/v1/connectors");
    assert_eq!(
        client().get(&connectors).send().await.expect("c").status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, cc) = token_form(&app, &demo, &[("grant_type", "client_credentials")]).await;
    let r = client()
        .get(&connectors)
        .bearer_auth(cc["access_token"].as_str().unwrap_or(""))
        .send()
        .await
        .expect("c");
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "client credentials: a user token is needed"
    );
    let anna = user_token(&app, &demo, "anna.berg@acme.example").await;
    assert_eq!(
        client()
            .get(&connectors)
            .bearer_auth(&anna)
            .send()
            .await
            .expect("c")
            .status(),
        StatusCode::FORBIDDEN
    );
    let ada = user_token(&app, &demo, "ada.admin@acme.example").await;
    let list: Value = client()
        .get(&connectors)
        .bearer_auth(&ada)
        .send()
        .await
        .expect("c")
        .json()
        .await
        .expect("j");
    let status = |name: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|c| c["destinationName"] == name))
            .map(|c| c["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(status("S4_OK").as_deref(), Some("OK"), "{list}");
    assert_eq!(status("S4_PAUSED").as_deref(), Some("PAUSED"));
    assert_eq!(
        status(&"L".repeat(65)).as_deref(),
        Some("ERROR"),
        "longer than 64"
    );
    assert_eq!(
        status("Task_Center"),
        None,
        "destinations without tc.enabled have no connector"
    );
    // The INITIAL job carries the token error when S/4HANA refuses the user.
    client()
        .post(app.sandbox_url("/_sandbox/s4"))
        .form(&[(
            "saml_issuer",
            "https://wrong.authentication.eu10.hana.ondemand.com",
        )])
        .send()
        .await
        .expect("s4");
    let list: Value = client()
        .get(&connectors)
        .bearer_auth(&ada)
        .send()
        .await
        .expect("c")
        .json()
        .await
        .expect("j");
    let ok = list
        .as_array()
        .and_then(|a| a.iter().find(|c| c["destinationName"] == "S4_OK"))
        .cloned()
        .expect("S4_OK");
    assert_eq!(ok["status"], "ERROR");
    let initial = ok["jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|x| x["type"] == "INITIAL"))
        .cloned()
        .expect("INITIAL");
    assert!(
        initial["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid_grant"),
        "{initial}"
    );
    let by_id: Value = client()
        .get(app.sandbox_url(&format!(
            "/task-center-service/v1/connectors/{}",
            ok["id"].as_str().unwrap_or("")
        )))
        .bearer_auth(&ada)
        .send()
        .await
        .expect("id")
        .json()
        .await
        .expect("j");
    assert_eq!(by_id["destinationName"], "S4_OK");
    // The log view keeps Task Center's history depths (C.2): CONFIG 10, INITIAL 1.
    for _ in 0..12 {
        client()
            .get(&connectors)
            .bearer_auth(&ada)
            .send()
            .await
            .expect("c");
    }
    let log = |job: &'static str| {
        let url = app.sandbox_url(&format!(
            "/task-center-service/v1/connectors/{}/jobTypes/{job}",
            ok["id"].as_str().unwrap_or("")
        ));
        let ada = ada.clone();
        async move {
            client()
                .get(url)
                .bearer_auth(ada)
                .send()
                .await
                .expect("log")
                .json::<Value>()
                .await
                .expect("j")
        }
    };
    assert_eq!(
        log("CONFIG").await["logs"].as_array().map_or(0, Vec::len),
        10
    );
    assert_eq!(
        log("INITIAL").await["logs"].as_array().map_or(0, Vec::len),
        1
    );
    // Rate limited: 429 with SAP's text.
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("tc_rate_limit", "1")])
        .send()
        .await
        .expect("s");
    let answers = futures_util::future::join_all(
        (0..3).map(|_| client().get(&connectors).bearer_auth(&ada).send()),
    )
    .await;
    let mut limited = None;
    for a in answers {
        let a = a.expect("c");
        if a.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(a.json::<Value>().await.expect("j"));
        }
    }
    let limited = limited.expect("a 429 beyond one request a second");
    assert_eq!(
        limited["error_description"],
        "Too many requests. The caller has sent too many requests in a given amount of time."
    );
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("tc_rate_limit", "0")])
        .send()
        .await
        .expect("s");
    let services: Value = client()
        .get(app.sandbox_url("/task-center-service/v1/service-status"))
        .bearer_auth(&ada)
        .send()
        .await
        .expect("s")
        .json()
        .await
        .expect("j");
    assert_eq!(services.as_array().map_or(0, Vec::len), 2);
    assert!(
        services
            .as_array()
            .is_some_and(|a| a.iter().all(|e| e["status"] == "OK")),
        "{services}"
    );
}

/// Walk the demo setup to a created destination (through the wizard).
async fn demo_destination(app: &TestApp, demo: &Value) -> String {
    let id = app.create_setup("ACME Verify").await;
    for page in [
        "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
        "step-3-5", "step-4",
    ] {
        let r = complete_demo_page(app, demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    id
}

fn verdict_of(body: &str, title: &str) -> (String, String) {
    let row = body
        .split(&format!("<tr><td>{title}</td>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no check {title}:\n{body}"));
    let verdict = between(row, "\">", "</strong>")
        .unwrap_or_default()
        .to_string();
    let reason = between(row, "</strong></td><td>", "</td>")
        .unwrap_or_default()
        .to_string();
    (verdict, reason)
}

const EXCHANGE: &str = "S/4HANA gives a token for a real user";
const CONNECTOR: &str = "Task Center&#39;s connector for the destination";
const SERVICES: &str = "Mandatory service destinations";
const TASKS: &str = "Tasks arrive for the signed-in approver";
const SUBJECT: &str = "IAS sends the user UUID as subject name identifier";
const APPLICATION: &str = "The subaccount&#39;s IAS application sends the User UUID";

#[tokio::test]
async fn verify_reads_the_subject_name_identifier_off_the_user_token() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = demo_destination(&app, &demo).await;
    let verify = format!("/setups/{id}/verify");
    // The IAS application sends e-mails: the user's token says so (19).
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("subject", "email")])
        .send()
        .await
        .expect("settings");
    // Without a user, the Application Directory says the same (all its
    // pages read: the sandbox answers two applications at a time).
    let seen = |v: &Value| v["applications"].as_u64().unwrap_or(0);
    let before = seen(&get_json(app.sandbox_url("/_sandbox/seen")).await);
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, APPLICATION);
    assert_eq!(v, "Fail", "{why}");
    assert!(
        why.contains("Failure mode 19")
            && why.contains("SAP BTP subaccount ACME Demo GmbH")
            && why.contains("&#34;mail&#34;"),
        "{why}"
    );
    assert_eq!(
        seen(&get_json(app.sandbox_url("/_sandbox/seen")).await) - before,
        2,
        "both pages of applications"
    );
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, SUBJECT);
    assert_eq!(v, "Fail", "{why}");
    assert!(
        why.contains("Failure mode 19") && why.contains("ada.admin@acme.example"),
        "{why}"
    );
    client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("subject", "user_uuid")])
        .send()
        .await
        .expect("settings")
        .error_for_status()
        .expect("subject switched back");
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let r = app.post(&verify, &[]).await.body;
    assert_eq!(verdict_of(&r, SUBJECT).0, "Pass");
    let (v, why) = verdict_of(&r, APPLICATION);
    assert_eq!(v, "Pass", "{why}");
    assert!(why.contains("SAP BTP subaccount ACME Demo GmbH sends the User UUID"));
    // An administrator that may read users but not applications: explained.
    app.fault("applications", "403").await;
    let (v, why) = verdict_of(&app.post(&verify, &[]).await.body, APPLICATION);
    assert_eq!(v, "Warning", "{why}");
    assert!(why.contains("(403)"), "{why}");
}

#[tokio::test]
async fn verify_runs_as_a_customer_user_and_names_failure_modes_4_5_6() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = demo_destination(&app, &demo).await;
    let verify = format!("/setups/{id}/verify");
    let before = app.post(&verify, &[]).await.body;
    assert_eq!(verdict_of(&before, EXCHANGE).0, "Not checked");
    assert!(
        verdict_of(&before, EXCHANGE)
            .1
            .contains("sign in as a customer user")
    );

    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let page = app.get(&verify).await.body;
    assert!(
        page.contains("run as <strong>ada.admin@acme.example</strong>"),
        "{page}"
    );
    let ok = app.post(&verify, &[]).await.body;
    for t in [SUBJECT, EXCHANGE, CONNECTOR, SERVICES] {
        assert_eq!(
            verdict_of(&ok, t).0,
            "Pass",
            "{t}: {:?}",
            verdict_of(&ok, t)
        );
    }
    assert_eq!(
        verdict_of(&ok, TASKS).0,
        "Not checked",
        "an administrator has no tasks"
    );
    let (_, connector) = verdict_of(&ok, CONNECTOR);
    assert!(
        connector.contains("Advanced: what SAP answered") && connector.contains("destinationName"),
        "Task Center's answer as it came ([U] field names): {connector}"
    );

    let s4 = |form: Vec<(&'static str, String)>| {
        let url = app.sandbox_url("/_sandbox/s4");
        async move {
            let r = client().post(url).form(&form).send().await.expect("s4");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    let cn = format!(
        "cfapps.eu10.hana.ondemand.com/{}",
        demo["subaccount_id"].as_str().unwrap_or("")
    );
    // Failure mode 4: a wrong SAML issuer in the communication system.
    s4(vec![(
        "saml_issuer",
        "https://acme-demo.authentication.eu10.hana.ondemand.com".into(),
    )])
    .await;
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, EXCHANGE);
    assert_eq!(v, "Fail");
    assert!(
        why.contains("invalid_grant")
            && why.contains("Failure mode 4")
            && why.contains("SAML Issuer"),
        "{why}"
    );
    let (v, why) = verdict_of(&r, CONNECTOR);
    assert_eq!(v, "Fail");
    assert!(
        why.contains("INITIAL ERROR") && why.contains("Failure mode 3"),
        "{why}"
    );
    s4(vec![("saml_issuer", cn.clone())]).await;

    // Failure mode 5, by mapping mode: user name instead of User UUID.
    s4(vec![("logon_type", "user_name".into())]).await;
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, EXCHANGE);
    assert_eq!(v, "Fail");
    assert!(
        why.contains("Failure mode 5") && why.contains("User ID Mapping Mode is User UUID"),
        "{why}"
    );
    s4(vec![("logon_type", "user_uuid".into())]).await;

    // A connector PAUSED (tc.enabled set to false behind the wizard's back).
    edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["tc.enabled"] = "false".into()
    })
    .await;
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, CONNECTOR);
    assert_eq!(v, "Fail");
    assert!(
        why.contains("Failure mode 2") && why.contains("PAUSED"),
        "{why}"
    );
    edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["tc.enabled"] = "true".into()
    })
    .await;

    // Failure modes 5 and 6 for an approver whose Global User ID S/4HANA lacks.
    sign_in_customer(&app, &id, &demo, "dana.gray@acme.example").await;
    let r = app.post(&verify, &[]).await.body;
    let (v, why) = verdict_of(&r, EXCHANGE);
    assert_eq!(v, "Fail");
    assert!(
        why.contains("Failure mode 5") && why.contains("dana.gray@acme.example"),
        "{why}"
    );
    let (v, why) = verdict_of(&r, TASKS);
    assert_eq!(v, "Fail");
    assert!(why.contains("Failure mode 6"), "{why}");
    assert_eq!(
        verdict_of(&r, CONNECTOR).0,
        "Not checked",
        "dana is not a TaskCenterAdmin"
    );
    // Her Global User ID set in S/4HANA: her tasks arrive.
    s4(vec![("set_global_id", "dana.gray@acme.example".into())]).await;
    let r = app.post(&verify, &[]).await.body;
    assert_eq!(verdict_of(&r, EXCHANGE).0, "Pass");
    assert_eq!(
        verdict_of(&r, TASKS).0,
        "Pass",
        "{:?}",
        verdict_of(&r, TASKS)
    );

    // The user token is nowhere at rest: no JWT in the database, WAL or downloads.
    const JWT_HEADER: &str = "eyJhbGciOiJSUzI1NiIs";
    for f in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{f}", app.db_path().display())).unwrap_or_default();
        assert!(
            !contains_bytes(&bytes, JWT_HEADER),
            "a token in wizard.db{f}"
        );
    }
    for path in ["report", "report.md", "calls", "destination.json"] {
        let body = app.get(&format!("/setups/{id}/{path}")).await.body;
        assert!(!body.contains(JWT_HEADER), "a token in {path}");
    }
    let export = app.post(&format!("/setups/{id}/export"), &[]).await.body;
    assert!(!export.contains(JWT_HEADER));
    // Forgetting it ends the user checks.
    app.post(&format!("/setups/{id}/customer-user/forget"), &[])
        .await;
    let r = app.post(&verify, &[]).await.body;
    assert_eq!(verdict_of(&r, EXCHANGE).0, "Not checked");
}

#[tokio::test]
async fn a_pasted_address_signs_in_when_the_browser_cannot_come_back() {
    let app = TestApp::spawn_with(|a| {
        a.sandbox = true;
        a.public_url = Some("https://wizard.example.com".into());
    })
    .await;
    let demo = app.demo().await;
    let id = demo_destination(&app, &demo).await;
    let page = app.get(&format!("/setups/{id}/customer-user")).await.body;
    assert!(
        page.contains("This site can&#39;t be reached")
            || page.contains("This site can't be reached")
    );
    let href = between(&page, "<a class=\"button\" href=\"", "\"")
        .expect("link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        href.contains("redirect_uri=http%3A%2F%2Flocalhost&"),
        "SAP's documented redirect: {href}"
    );
    let pw = person(&demo, "ada.admin@acme.example")["password"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = sandbox_sign_in(&href, "ada.admin@acme.example", &pw).await;
    let ended_on = r.headers()["location"].to_str().expect("loc").to_string();
    let bad = app
        .post(
            &format!("/setups/{id}/customer-user"),
            &[("address", "http://localhost/?nothing=1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("holds ?code="));
    let r = app
        .post(
            &format!("/setups/{id}/customer-user"),
            &[("address", &ended_on)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = app
        .post(
            &format!("/setups/{id}/customer-user"),
            &[("address", &ended_on)],
        )
        .await;
    assert!(
        again.body.contains("SAP did not accept the code"),
        "single use: {}",
        again.body
    );
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert_eq!(verdict_of(&v, EXCHANGE).0, "Pass");
}

#[tokio::test]
async fn sap_own_client_libraries_accept_the_sandbox() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    demo_destination(&app, &demo).await;
    // A certificate for the HTTPS front the script puts before the sandbox
    // (@sap/xssec fetches keys from https://{uaadomain} only).
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let (cert_path, key_path) = (
        app.dir.path().join("front.pem"),
        app.dir.path().join("front-key.pem"),
    );
    std::fs::write(&cert_path, cert.pem()).expect("cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("key");
    let ada = person(&demo, "ada.admin@acme.example");
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new(root)
            .join("node_modules/@sap-cloud-sdk/connectivity")
            .exists()
            && std::path::Path::new(root)
                .join("node_modules/@sap/xssec")
                .exists(),
        "SAP's client libraries are missing: run `npm ci` (or .ci/run)"
    );
    let out = tokio::process::Command::new("node")
        .arg("tests/sap-clients/conformance.mjs")
        .current_dir(root)
        .env("SANDBOX", app.sandbox.as_deref().unwrap_or(""))
        .env("CERT", &cert_path)
        .env("KEY", &key_path)
        .env("NODE_EXTRA_CA_CERTS", &cert_path)
        .env("DESTINATION", "S4HANACloud")
        .env("USER_EMAIL", "ada.admin@acme.example")
        .env("USER_PASSWORD", ada["password"].as_str().unwrap_or(""))
        .output()
        .await
        .expect("node (install nodejs: .ci/run does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    // @sap/xssec validates both kinds of token against the sandbox's keys.
    assert_eq!(r["xssec_client_credentials"]["valid"], true, "{r}");
    assert_eq!(
        r["xssec_client_credentials"]["zoneId"], demo["subaccount_id"],
        "{r}"
    );
    assert_eq!(r["xssec_user"]["valid"], true, "{r}");
    assert_eq!(r["xssec_user"]["userUuid"], ada["user_uuid"]);
    // SAP Cloud SDK: lists, finds without token retrieval, and gets the
    // S/4HANA token only with a user.
    let names = r["sdk_list"]["names"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(names.iter().any(|n| n == "S4HANACloud"), "{r}");
    assert_eq!(r["sdk_skip_token_retrieval"]["name"], "S4HANACloud", "{r}");
    assert!(
        r["seen"].as_array().is_some_and(|s| s.iter().any(|u| u
            .as_str()
            .unwrap_or("")
            .contains("destinations/S4HANACloud?$skipTokenRetrieval=true"))),
        "{r}"
    );
    assert_eq!(r["sdk_with_user"]["name"], "S4HANACloud", "{r}");
    let with_user = &r["sdk_with_user"]["tokens"][0];
    assert_eq!(with_user["type"], "Bearer", "{r}");
    assert!(
        with_user["error"].is_null() && with_user["hasValue"] == true,
        "{r}"
    );
    // Without a user the SDK itself refuses; asked with a technical token
    // only, the Destination service refuses as SAP does (B.2).
    assert!(
        r["sdk_without_user"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("No user token (JWT)"),
        "{r}"
    );
    let refusal = r["sdk_technical_token_only"].to_string();
    assert!(
        refusal.contains("Cannot determine user to propagate"),
        "SAP's refusal without a user: {r}"
    );
}

#[tokio::test]
async fn the_demo_landscape_is_the_same_on_every_start_and_reset_restores_it() {
    let a = taskcenter_wizard::sandbox::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("a");
    let b = taskcenter_wizard::sandbox::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("b");
    let demo = |addr: std::net::SocketAddr| async move {
        get_json(format!("http://{addr}/_sandbox/demo.json")).await
    };
    let (da, db) = (demo(a.addr).await, demo(b.addr).await);
    assert_eq!(da, db, "ids, keys and users are derived from a fixed seed");
    assert!(da["people"].as_array().is_some_and(|p| {
        p.len() >= 4
            && p.iter()
                .all(|x| x["password"].is_string() && x["user_uuid"].is_string())
    }));
    let page = client()
        .get(format!("http://{}/", a.addr))
        .send()
        .await
        .expect("p")
        .text()
        .await
        .expect("t");
    for p in da["people"].as_array().cloned().unwrap_or_default() {
        assert!(
            page.contains(p["email"].as_str().unwrap_or("?"))
                && page.contains(p["password"].as_str().unwrap_or("?"))
        );
    }
    let s4 = format!("http://{}/_sandbox/s4", a.addr);
    let start: Value = get_json(&s4).await;
    client()
        .post(&s4)
        .form(&[("logon_type", "user_name"), ("saml_issuer", "x")])
        .send()
        .await
        .expect("c");
    let changed: Value = get_json(&s4).await;
    assert_ne!(changed, start);
    client()
        .post(format!("http://{}/_sandbox/reset", a.addr))
        .send()
        .await
        .expect("r");
    let reset: Value = get_json(&s4).await;
    assert_eq!(reset, start);
}

#[tokio::test]
async fn the_trust_certificate_is_rsa_with_sap_subject_order() {
    let sb = taskcenter_wizard::sandbox::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sb");
    let pem = client()
        .get(format!("http://{}/_sandbox/trust.pem", sb.addr))
        .send()
        .await
        .expect("pem")
        .bytes()
        .await
        .expect("bytes");
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
    let cert = p.parse_x509().expect("x509");
    assert_eq!(
        cert.public_key().algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.1",
        "rsaEncryption"
    );
    let order: Vec<String> = cert
        .subject()
        .iter_attributes()
        .map(|a| a.attr_type().to_id_string())
        .collect();
    assert_eq!(order, ["2.5.4.3", "2.5.4.10", "2.5.4.11"], "CN, O, OU");
}
