//! Verify and the handover (issue 5): each check fails on bad input and passes
//! on good, the properties file read back by Java, export then import.

use reqwest::StatusCode;

use crate::support::*;

async fn walk_all(app: &TestApp, name: &str) -> String {
    let id = app.create_setup(name).await;
    for page in PAGES {
        let r = complete_page(app, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    id
}

/// The verdict shown for a check on the Verify page.
fn verdict(body: &str, title: &str) -> String {
    let row = body
        .split(&format!("<tr><td>{title}</td>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no check {title}:\n{body}"));
    between(row, "\">", "</strong>")
        .unwrap_or_default()
        .to_string()
}

async fn resave(
    app: &TestApp,
    id: &str,
    page: &str,
    replace: &[(&'static str, &str)],
    drop_ticks: &[&str],
) {
    let shown = app.get(&format!("/setups/{id}/pages/{page}")).await.body;
    let mut answers = valid_answers(page);
    for (k, v) in replace {
        answers.retain(|(x, _)| x != k);
        answers.push((k, v.to_string()));
    }
    let mut form: Vec<(String, String)> = answers
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for key in [
        "step2_confirm",
        "booster_confirm",
        "step34_confirm",
        "step35_confirm",
        "step6_confirm",
        "step1_confirm",
        "step5_confirm",
    ] {
        for v in checkbox_values(&shown, key) {
            if !drop_ticks.contains(&v.as_str()) {
                form.push((key.to_string(), v));
            }
        }
    }
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = app.save(id, page, &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
}

#[tokio::test]
async fn each_check_fails_on_bad_input_and_passes_on_good() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "Checks").await;
    let path = format!("/setups/{id}/verify");
    let good = app.get(&path).await.body;
    assert!(good.contains("0 failed"), "{good}");
    let titles = [
        "S/4HANA hosts",
        "Service key matches the subaccount",
        "Trust certificate belongs to the subaccount",
        "Trust certificate is valid",
        "SAML issuer equals the certificate CN",
        "User mapping and OAuth 2.0 inbound user",
        "Destination name length",
        "Task Center properties",
        "tc.notifications.enabled",
        "tc.inbox.pull.days",
        "One Identity Authentication tenant",
        "Global User IDs",
    ];
    // What only a person can confirm is shown as confirmed, by whom and when.
    let by_hand = [
        "SAML issuer equals the certificate CN",
        "User mapping and OAuth 2.0 inbound user",
        "One Identity Authentication tenant",
    ];
    for t in titles {
        let want = if by_hand.contains(&t) {
            "Confirmed"
        } else {
            "Pass"
        };
        assert_eq!(verdict(&good, t), want, "{t} on good answers");
    }
    assert!(good.contains("Confirmed by admin on "), "{good}");

    // Each bad input turns its check.
    resave(&app, &id, "step-3-4", &[], &["mapping_mode"]).await;
    assert_eq!(
        verdict(
            &app.get(&path).await.body,
            "User mapping and OAuth 2.0 inbound user"
        ),
        "Not confirmed"
    );
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    assert!(
        history.contains(
            "Done in the communication system: User ID Mapping Mode is User UUID (Global User ID), not User Name"
        ),
        "the history names the item, not its key: {history}"
    );
    resave(&app, &id, "step-3-4", &[], &["saml_issuer"]).await;
    let b = app.get(&path).await.body;
    assert_eq!(
        verdict(&b, "SAML issuer equals the certificate CN"),
        "Not confirmed"
    );
    assert_eq!(
        verdict(&b, "User mapping and OAuth 2.0 inbound user"),
        "Confirmed"
    );
    resave(&app, &id, "step-3-5", &[], &["oauth"]).await;
    assert_eq!(
        verdict(
            &app.get(&path).await.body,
            "User mapping and OAuth 2.0 inbound user"
        ),
        "Not confirmed"
    );
    assert_eq!(
        verdict(&good, "Subject name identifier is the User UUID"),
        "Confirmed"
    );
    resave(&app, &id, "step-2", &[], &["same_tenant", "subject_uuid"]).await;
    let b = app.get(&path).await.body;
    assert_eq!(
        verdict(&b, "One Identity Authentication tenant"),
        "Not confirmed"
    );
    assert_eq!(
        verdict(&b, "Subject name identifier is the User UUID"),
        "Not confirmed"
    );
    assert!(
        b.contains("Failure mode 19"),
        "the unconfirmed identifier is named"
    );
    resave(
        &app,
        &id,
        "step-4",
        &[("destination_name", "S4HANACloud_Production")],
        &[],
    )
    .await;
    // 64 characters since 2025-06-19: 22 is fine (over 64 cannot be saved).
    assert_eq!(
        verdict(&app.get(&path).await.body, "Destination name length"),
        "Pass"
    );
    assert_eq!(
        verdict(&app.get(&path).await.body, "Task Center service plan"),
        "Pass"
    );
    resave(&app, &id, "booster", &[("plan", "standard")], &[]).await;
    let b = app.get(&path).await.body;
    assert_eq!(verdict(&b, "tc.inbox.pull.days"), "Warning");
    assert_eq!(verdict(&b, "Task Center service plan"), "Warning");
    assert!(b.contains("Failure mode 23"), "the retired plan is named");
    resave(
        &app,
        &id,
        "step-6",
        &[(
            "approvers",
            "anna.berg@acme.example\nbob.stone@acme.example, P000012",
        )],
        &[],
    )
    .await;
    let b = app.get(&path).await.body;
    assert_eq!(verdict(&b, "Global User IDs"), "Warning");
    assert!(b.contains("No Global User ID yet for anna.berg@acme.example"));
    // Facts changed under saved pages: hosts, key and certificate no longer match.
    resave(
        &app,
        &id,
        "facts",
        &[
            ("s4_host", "my111111.s4hana.ondemand.com"),
            ("region", "us10"),
        ],
        &[],
    )
    .await;
    resave(
        &app,
        &id,
        "step-1",
        &[("subaccount_id", "0a0b0c0d-0000-4000-8000-00000000abcd")],
        &[],
    )
    .await;
    let b = app.get(&path).await.body;
    assert_eq!(verdict(&b, "S/4HANA hosts"), "Fail");
    assert!(b.contains("points to tenant 404687"), "{b}");
    assert_eq!(verdict(&b, "Service key matches the subaccount"), "Fail");
    assert_eq!(
        verdict(&b, "Trust certificate belongs to the subaccount"),
        "Fail"
    );
    // A certificate close to expiry is a warning.
    resave(&app, &id, "facts", &[], &[]).await;
    resave(&app, &id, "step-1", &[], &[]).await;
    let (pem, _) = trust_certificate(&sap_cn(SUBACCOUNT), 30);
    let shown = app.get(&format!("/setups/{id}/pages/step-3-2")).await;
    let form = reqwest::multipart::Form::new()
        .text("_version", version_of(&shown.body))
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(pem.into_bytes()).file_name("t.pem"),
        );
    app.post_multipart(&format!("/setups/{id}/pages/step-3-2"), form)
        .await;
    assert_eq!(
        verdict(&app.get(&path).await.body, "Trust certificate is valid"),
        "Warning"
    );
}

#[tokio::test]
async fn online_checks_compare_btp_with_the_answers() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = app.create_setup("Online").await;
    for page in PAGES {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let users = demo["users"].as_array().cloned().unwrap_or_default();
    let list: Vec<String> = users
        .iter()
        .map(|u| {
            format!(
                "{}, {}",
                u[0].as_str().unwrap_or(""),
                u[1].as_str().unwrap_or("")
            )
        })
        .collect();
    resave_demo(&app, &id, "step-6", &list.join("\n")).await;
    let path = format!("/setups/{id}/verify");
    let before = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&before, "Destination in BTP"),
        "Fail",
        "not created yet"
    );
    assert!(
        before.contains("There is no destination S4HANACloud") || before.contains("differs"),
        "{before}"
    );
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after = app.post(&path, &[]).await.body;
    for t in [
        "Task Center key gets a token",
        "Destination in BTP",
        "One destination per S/4HANA system",
        "Mandatory service destinations in BTP",
        "Approvers exist in Identity Authentication",
    ] {
        assert_eq!(verdict(&after, t), "Pass", "{t}:\n{after}");
    }
    // Without a customer user, the user path is not claimed as passed.
    for t in [
        "S/4HANA gives a token for a real user",
        "Task Center&#39;s connector for the destination",
        "Mandatory service destinations",
    ] {
        assert_eq!(verdict(&after, t), "Not checked", "{t}:\n{after}");
    }
    assert!(
        !after.contains("BTP gets a token from S/4HANA"),
        "the technical-token check is gone"
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(calls.contains("/scim/Users") && calls.contains("subaccountDestinations/S4HANACloud"));
    // Someone changes the destination in the cockpit: Verify says what differs.
    let token = dest_token(&app, &demo).await;
    let base = app.sandbox_url("/destination-configuration/v1/subaccountDestinations");
    edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["tc.enabled"] = "false".into()
    })
    .await;
    client().post(&base).bearer_auth(&token).json(&serde_json::json!({"Name": "S4_COPY", "URL": "https://my404687-api.s4hana.ondemand.com", "Type": "HTTP", "ProxyType": "Internet", "Authentication": "NoAuthentication"})).send().await.expect("post");
    let changed = app.post(&path, &[]).await.body;
    assert_eq!(verdict(&changed, "Destination in BTP"), "Fail");
    assert!(
        changed.contains("tc.enabled is &#34;false&#34;"),
        "{changed}"
    );
    assert_eq!(
        verdict(&changed, "One destination per S/4HANA system"),
        "Fail"
    );
    assert!(changed.contains("S4_COPY also point(s) to my404687.s4hana.ondemand.com"));
    assert_eq!(
        verdict(&changed, "Mandatory service destinations in BTP"),
        "Pass"
    );
    // The IDS destination pointed elsewhere, then a service destination
    // deleted in the cockpit (failure modes 15 and 21).
    let put = edit_destination(
        &app,
        &demo,
        "Identity_Authentication_Connectivity_IDS",
        |d| {
            d["URL"] = "https://other.accounts.ondemand.com/scim".into();
            d["Password"] = "its-password".into();
        },
    )
    .await;
    assert_eq!(put, StatusCode::OK);
    let wrong = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&wrong, "Mandatory service destinations in BTP"),
        "Fail"
    );
    assert!(
        wrong.contains("points to https://other.accounts.ondemand.com/scim instead of https://"),
        "{wrong}"
    );
    client()
        .delete(format!("{base}/Task_Center_global_settings"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    let gone = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&gone, "Mandatory service destinations in BTP"),
        "Fail"
    );
    assert!(
        gone.contains("Failure mode 21: the subaccount has no Task_Center_global_settings."),
        "{gone}"
    );
}

async fn resave_demo(app: &TestApp, id: &str, page: &str, approvers: &str) {
    let shown = app.get(&format!("/setups/{id}/pages/{page}")).await.body;
    let ticks = checkbox_values(&shown, "step6_confirm");
    let mut form: Vec<(&str, &str)> = vec![("approvers", approvers)];
    form.extend(ticks.iter().map(|v| ("step6_confirm", v.as_str())));
    assert_eq!(
        app.save(id, page, &form).await.status,
        StatusCode::SEE_OTHER
    );
}

const JAVA_READER: &str = r#"
import java.io.*; import java.util.*;
public class ReadProps {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    try (InputStream in = new FileInputStream(a[0])) { p.load(in); }
    for (String k : new TreeSet<>(p.stringPropertyNames())) {
      System.out.println(esc(k) + "\t" + esc(p.getProperty(k)));
    }
  }
  static String esc(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) { if (c < 32 || c > 126) b.append(String.format("\\u%04x", (int) c)); else b.append(c); }
    return b.toString();
  }
}
"#;

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        let code = u32::from_str_radix(&rest[i + 2..i + 6], 16).expect("hex");
        out.push(char::from_u32(code).expect("char"));
        rest = &rest[i + 6..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_properties_file_reads_back_in_java_as_the_intended_destination() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "Properties").await;
    resave(
        &app,
        &id,
        "step-4",
        &[("ui_label", "Aufgaben für Büro: A=B #1")],
        &[],
    )
    .await;
    let file = app
        .get(&format!("/setups/{id}/destination.properties"))
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(
        file.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; charset=ISO-8859-1")
    );
    let bytes = app
        .client
        .get(format!("{}/setups/{id}/destination.properties", app.base))
        .send()
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert!(!contains_bytes(&bytes, PASSWORD), "no password in the file");
    assert!(bytes.contains(&0xFC), "ü written as ISO-8859-1");
    let intended: serde_json::Map<String, serde_json::Value> = app
        .client
        .get(format!("{}/setups/{id}/destination.json", app.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");

    let java = std::process::Command::new("java").arg("-version").output();
    assert!(
        java.is_ok(),
        "Java is needed to read the properties file back: apt-get install -y default-jdk-headless"
    );
    let dir = temp_dir();
    std::fs::write(dir.path().join("ReadProps.java"), JAVA_READER).expect("write");
    std::fs::write(dir.path().join("dest.properties"), &bytes).expect("write");
    let out = std::process::Command::new("java")
        .arg(dir.path().join("ReadProps.java"))
        .arg(dir.path().join("dest.properties"))
        .output()
        .expect("run java");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Map<String, serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (unescape(k), serde_json::Value::String(unescape(v))))
        .collect();
    assert_eq!(
        parsed, intended,
        "Java reads exactly the intended destination"
    );
    assert_eq!(parsed["tc.ui.label"], "Aufgaben für Büro: A=B #1");
    assert_eq!(parsed["URL"], "https://my404687-api.s4hana.ondemand.com");
    assert!(!parsed.contains_key("tokenServicePassword"));
}

async fn post_import(app: &TestApp, file: Vec<u8>, passphrase: &str) -> Page {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name("setup.json"),
        )
        .text("passphrase", passphrase.to_string());
    app.post_multipart("/import", form).await
}

#[tokio::test]
async fn export_then_import_reproduces_the_setup() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "Exported").await;
    let original_check = app.get(&format!("/setups/{id}/pages/check")).await.body;
    let original_tasks = app.get(&format!("/setups/{id}")).await.body;

    // Without secrets: none in the file, and the import lacks them.
    let plain = app
        .client
        .post(format!("{}/setups/{id}/export", app.base))
        .form(&[("passphrase", "")])
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes")
        .to_vec();
    assert!(
        !contains_bytes(&plain, PASSWORD)
            && !contains_bytes(&plain, CLIENT_SECRET)
            && !contains_bytes(&plain, "enc:v1:")
    );
    let r = post_import(&app, plain.clone(), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let copy = r
        .location
        .expect("location")
        .trim_start_matches("/setups/")
        .to_string();
    let tasks = app.get(&format!("/setups/{copy}")).await.body;
    assert!(tasks.contains("Exported (imported)"));
    assert!(
        tasks.contains("id=\"status-step-3-3\">In progress<"),
        "the password is missing"
    );

    // With secrets under a passphrase: a faithful copy.
    let short = app
        .post(
            &format!("/setups/{id}/export"),
            &[
                ("include_secrets", "yes"),
                ("passphrase", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 12 characters"));
    let pass = "a long export passphrase";
    let not_me = app
        .post(
            &format!("/setups/{id}/export"),
            &[
                ("include_secrets", "yes"),
                ("passphrase", pass),
                ("confirm", pass),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(not_me.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        not_me.body.contains("href=\"#f-password\"")
            && not_me.body.contains("Your password is not right")
    );
    let sealed = app
        .client
        .post(format!("{}/setups/{id}/export", app.base))
        .form(&[
            ("include_secrets", "yes"),
            ("passphrase", pass),
            ("confirm", pass),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("bytes")
        .to_vec();
    assert!(
        !contains_bytes(&sealed, PASSWORD) && !contains_bytes(&sealed, CLIENT_SECRET),
        "secrets are encrypted in the file"
    );
    let wrong = post_import(&app, sealed.clone(), "not the passphrase").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("The passphrase does not open")
            && wrong.body.contains("href=\"#f-passphrase\"")
    );
    let junk = post_import(&app, b"{\"hello\": 1}".to_vec(), "").await;
    assert!(junk.body.contains("The file cannot be imported"));
    let r = post_import(&app, sealed, pass).await;
    let copy = r
        .location
        .expect("location")
        .trim_start_matches("/setups/")
        .to_string();
    let same = |body: &str, from: &str, to: &str| {
        body.replace(from, to)
            .replace("Exported (imported)", "Exported")
    };
    let copy_tasks = app.get(&format!("/setups/{copy}")).await.body;
    assert_eq!(
        same(&copy_tasks, &copy, &id),
        original_tasks,
        "task list reproduced"
    );
    let copy_check = app.get(&format!("/setups/{copy}/pages/check")).await.body;
    assert_eq!(
        same(&copy_check, &copy, &id),
        original_check,
        "every answer reproduced, secrets included"
    );
}

#[tokio::test]
async fn the_report_holds_every_value_confirmation_check_and_call() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "Reported").await;
    app.post(&format!("/setups/{id}/verify"), &[]).await;
    let report = app.get(&format!("/setups/{id}/report")).await.body;
    for expected in [
        "my404687.s4hana.ondemand.com",
        "TASKCENTERCOM",
        "••••••••s8Nd",
        "Confirmations",
        "Verification",
        "calls to SAP",
        "anna.berg@acme.example",
        "SHA-256 fingerprint",
    ] {
        assert!(report.contains(expected), "{expected} missing");
    }
    assert!(
        report.contains(">admin, 20"),
        "who and when of a confirmation"
    );
    assert!(!report.contains(PASSWORD) && !report.contains(CLIENT_SECRET));
    let md = app
        .client
        .get(format!("{}/setups/{id}/report.md", app.base))
        .send()
        .await
        .expect("md");
    assert_eq!(
        md.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/markdown; charset=utf-8")
    );
    let md = md.text().await.expect("text");
    assert!(md.starts_with("# Handover: SAP Task Center and S/4HANA Cloud — Reported"));
    assert!(md.contains("| S/4HANA Cloud host | my404687.s4hana.ondemand.com |"));
    assert!(md.contains("| Task Center properties | Pass |"));
    assert!(md.contains("POST https://acme-tc.authentication.eu10.hana.ondemand.com/oauth/token"));
    assert!(!md.contains(PASSWORD) && !md.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn imported_values_are_parsed_like_typed_ones_and_confirmations_say_where_from() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "Imported").await;
    let file = app
        .post(&format!("/setups/{id}/export"), &[])
        .await
        .body
        .into_bytes();
    let mut export: serde_json::Value = serde_json::from_slice(&file).expect("export JSON");
    // A value no consultant could have typed is refused, naming the field.
    let mut bad = export.clone();
    bad["pages"]["facts"]["data"]["s4_host"] = "not a host at all".into();
    let r = post_import(&app, bad.to_string().into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("The file cannot be imported") && r.body.contains("S/4HANA"),
        "{}",
        r.body
    );
    let mut unknown = export.clone();
    unknown["pages"]["facts"]["data"]["smuggled"] = "x".into();
    let r = post_import(&app, unknown.to_string().into_bytes(), "").await;
    assert!(
        r.body
            .contains("an answer &#34;smuggled&#34; this page does not ask"),
        "{}",
        r.body
    );
    let mut forged = export.clone();
    let step1 = forged["pages"]["step-1"]["data"]
        .as_object_mut()
        .expect("step-1");
    let key = step1
        .keys()
        .find(|k| k.contains('.'))
        .cloned()
        .expect("a confirmation");
    step1.insert(key, "yesterday|<b>".into());
    let r = post_import(&app, forged.to_string().into_bytes(), "").await;
    assert!(
        r.body
            .contains("a confirmation without a valid who and when"),
        "{}",
        r.body
    );

    // A faithful file imports; its confirmations keep who and when, marked.
    export["name"] = "Imported".into();
    let r = post_import(&app, export.to_string().into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let copy = r.location.expect("location");
    let report = app.get(&format!("{copy}/report")).await.body;
    assert!(
        report.contains("admin, ") && report.contains("(imported from setup.json)"),
        "confirmations are shown as imported:\n{report}"
    );
    let original = app.get(&format!("/setups/{id}/report")).await.body;
    assert!(
        !original.contains("imported from"),
        "the original's are its own"
    );
}

#[tokio::test]
async fn the_markdown_report_escapes_what_could_be_read_as_html() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "<img src=x onerror=alert(1)> & Co").await;
    let md = app.get(&format!("/setups/{id}/report.md")).await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(
        md.body
            .contains("&lt;img src=x onerror=alert(1)&gt; &amp; Co"),
        "{}",
        &md.body[..md.body.len().min(400)]
    );
    assert!(!md.body.contains("<img"), "no raw HTML in the Markdown");
}

#[tokio::test]
async fn the_trust_certificate_can_be_downloaded_once_held() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = app.create_setup("Cert").await;
    assert_eq!(
        app.get(&format!("/setups/{id}/certificate/trust.pem"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "none held yet"
    );
    for page in [
        "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3",
    ] {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    // Fetched through the Destination service key: downloadable as SAP serves it.
    let sandbox_pem = client()
        .get(app.sandbox_url("/_sandbox/trust.pem"))
        .send()
        .await
        .expect("pem")
        .text()
        .await
        .expect("t");
    let pem = app
        .get(&format!("/setups/{id}/certificate/trust.pem"))
        .await;
    assert_eq!(pem.status, StatusCode::OK);
    assert_eq!(pem.body.trim(), sandbox_pem.trim());
    assert!(
        pem.headers["content-disposition"]
            .to_str()
            .unwrap_or("")
            .contains("cert-trust.pem")
    );
    let cer = app
        .client
        .get(format!("{}/setups/{id}/certificate/trust.cer", app.base))
        .send()
        .await
        .expect("cer");
    assert_eq!(cer.headers()["content-type"], "application/pkix-cert");
    let der = cer.bytes().await.expect("der");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("DER");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|c| c.as_str().ok())
        .unwrap_or("");
    assert_eq!(
        cn,
        format!(
            "cfapps.eu10.hana.ondemand.com/{}",
            demo["subaccount_id"].as_str().unwrap_or("")
        )
    );
    for page in ["step-3-2", "step-3-4"] {
        let body = app.get(&format!("/setups/{id}/pages/{page}")).await.body;
        assert!(
            body.contains(&format!("/setups/{id}/certificate/trust.cer")),
            "{page} links the download"
        );
    }
    // Only people with access to the setup.
    let stranger = app.user("stranger").await;
    assert_eq!(
        app.get_as(&stranger, &format!("/setups/{id}/certificate/trust.pem"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Step 6: the Global User IDs as an upload file for S/4HANA's Maintain
/// Business Users, beside the table; approvers without an ID are left out.
#[tokio::test]
async fn step_6_offers_the_global_user_ids_as_an_upload_file() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Upload").await;
    complete_page(&app, &id, "facts").await;
    let page = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    assert!(
        !page.contains("global-user-ids.csv"),
        "nothing to download yet"
    );
    assert_eq!(
        app.get(&format!("/setups/{id}/global-user-ids.csv"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let approvers = "anna.berg@acme.example, d1a6b3c2-0000-4000-8000-000000000001\ncarl.new@acme.example\nbob.stone@acme.example, d1a6b3c2-0000-4000-8000-000000000002";
    let r = save_ticking_all(&app, &id, "step-6", &[("approvers", approvers.into())]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    assert!(
        page.contains(&format!(
            "href=\"/setups/{id}/global-user-ids.csv\" download"
        )) && page.contains("(2 approvers; 1 without an ID yet is left out)"),
        "{page}"
    );
    let r = app
        .client
        .get(format!("{}/setups/{id}/global-user-ids.csv", app.base))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap_or(""),
        "text/csv; charset=utf-8"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .contains("global-user-ids.csv")
    );
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "E-Mail Address,Global User ID\r\nanna.berg@acme.example,d1a6b3c2-0000-4000-8000-000000000001\r\nbob.stone@acme.example,d1a6b3c2-0000-4000-8000-000000000002\r\n"
    );
}

/// Setups saved and files exported before the procedure put trust before the
/// booster keep every answer, confirmation and who-and-when; the only change
/// a consultant sees is the one new confirmation (the subject name, failure
/// mode 19), and a form opened before the upgrade is refused, not saved over
/// the moved answers (issue 11).
#[tokio::test]
async fn answers_saved_in_the_old_page_layout_move_to_the_pages_that_ask_for_them() {
    let mut app = TestApp::spawn().await;
    let id = walk_all(&app, "Old layout").await;
    let export_path = format!("/setups/{id}/export");
    let file = app.post(&export_path, &[]).await.body;
    let stale_step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    app.stop().await;

    // The database as the previous build left it.
    rewrite_to_layout_1(&format!("sqlite://{}", app.db_path().display()), &id).await;

    let app = app.restart().await;
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    for page in PAGES {
        let want = if *page == "step-2" {
            "In progress"
        } else if *page == "check" {
            "Needs review"
        } else {
            "Completed"
        };
        assert!(
            tasks.contains(&format!("id=\"status-{page}\">{want}<")),
            "{page} should be {want}:\n{tasks}"
        );
    }
    let step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    assert_eq!(
        input_value(&step1, "f-subdomain").as_deref(),
        Some("acme-tc")
    );
    assert_eq!(
        input_value(&step1, "f-subaccount_id").as_deref(),
        Some(SUBACCOUNT)
    );
    let step2 = app.get(&format!("/setups/{id}/pages/step-2")).await.body;
    assert_eq!(
        input_value(&step2, "f-ias_host").as_deref(),
        Some("acme.accounts.ondemand.com")
    );
    assert_eq!(checkbox_values(&step2, "step2_confirm").len(), 4);
    let booster = app.get(&format!("/setups/{id}/pages/booster")).await.body;
    assert!(
        booster.contains("value=\"all-tasks\" checked"),
        "the plan moved"
    );
    assert_eq!(
        booster.matches("name=\"booster_confirm\"").count(),
        3,
        "the booster's confirmations are asked there"
    );
    assert_eq!(
        booster.matches(" checked>").count(),
        4,
        "plan and three confirmations moved, ticked"
    );
    assert_eq!(
        step2.matches(" checked>").count(),
        3,
        "only the new one is open"
    );
    let report = app.get(&format!("/setups/{id}/report")).await.body;
    let booster_row = between(
        &report,
        "The Task Center booster ran without errors",
        "</tr>",
    )
    .unwrap_or("");
    assert!(
        booster_row.contains("admin, 20"),
        "who and when stay: {booster_row}"
    );
    let facts = app.get(&format!("/setups/{id}/pages/facts")).await.body;
    assert!(
        input_value(&facts, "f-subdomain").is_none(),
        "no longer asked first"
    );
    // A form opened before the upgrade is refused rather than saved over it.
    let stale = app
        .post(
            &format!("/setups/{id}/pages/step-1"),
            &[
                ("_version", &version_of(&stale_step1)),
                ("subdomain", "other-sub"),
                ("subaccount_id", SUBACCOUNT),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    // Ticking the one new confirmation completes the setup again.
    complete_page(&app, &id, "step-2").await;
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert!(
        tasks.contains("12 of 13 sections"),
        "all but Check your answers"
    );
    let listed = app.get("/").await.body;
    assert!(
        listed.contains("12 of 13 done"),
        "the list's summary follows"
    );

    // A file exported by the previous build (format 1) imports the same way.
    let mut old: serde_json::Value = serde_json::from_str(&file).expect("export");
    old["format"] = "taskcenter-wizard/setup/1".into();
    to_layout_1(
        old["pages"].as_object_mut().expect("pages"),
        |p| &mut p["data"],
    );
    let r = post_import(&app, old.to_string().into_bytes(), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let copy = r.location.expect("imported");
    let tasks = app.get(&copy).await.body;
    for page in ["facts", "step-1", "booster"] {
        assert!(
            tasks.contains(&format!("id=\"status-{page}\">Completed<")),
            "{page}:\n{tasks}"
        );
    }
    assert!(
        tasks.contains("id=\"status-step-2\">In progress<"),
        "{tasks}"
    );
    let exported: serde_json::Value =
        serde_json::from_str(&app.post(&format!("{copy}/export"), &[]).await.body).expect("json");
    assert_eq!(exported["format"], "taskcenter-wizard/setup/2");
    assert_eq!(exported["pages"]["step-1"]["data"]["subdomain"], "acme-tc");
    assert!(
        exported["pages"]["facts"]["data"]
            .get("subdomain")
            .is_none()
    );
}

/// Issue 21: the failure modes added to the list (24-30) that the wizard
/// can see from what it reads: each check fails on the bad state and
/// passes once it is put right.
#[tokio::test]
async fn the_new_failure_modes_are_caught_and_pass_once_fixed() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = app.create_setup("Failure modes 24-30").await;
    for page in PAGES {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let users = demo["users"].as_array().cloned().unwrap_or_default();
    let list: Vec<String> = users
        .iter()
        .map(|u| {
            format!(
                "{}, {}",
                u[0].as_str().unwrap_or(""),
                u[1].as_str().unwrap_or("")
            )
        })
        .collect();
    let scim = &demo["s4_api_users"][1];
    let save6 = |approvers: String| {
        let app = &app;
        let id = &id;
        async move {
            let shown = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
            let ticks = checkbox_values(&shown, "step6_confirm");
            let mut form: Vec<(&str, &str)> = vec![
                ("approvers", approvers.as_str()),
                ("scim_api_user", scim[0].as_str().unwrap_or("")),
                ("scim_api_password", scim[1].as_str().unwrap_or("")),
            ];
            form.extend(ticks.iter().map(|v| ("step6_confirm", v.as_str())));
            let r = app.save(id, "step-6", &form).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
    };
    save6(list.join("\n")).await;
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let path = format!("/setups/{id}/verify");
    let s4 = |form: Vec<(&'static str, String)>| {
        let url = app.sandbox_url("/_sandbox/s4");
        async move {
            let r = client().post(url).form(&form).send().await.expect("s4");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    for u in &users {
        s4(vec![(
            "set_global_id",
            u[0].as_str().unwrap_or("").to_string(),
        )])
        .await;
    }
    let good = app.post(&path, &[]).await.body;
    for t in [
        "No properties copied from other guides",
        "S/4HANA holds the Global User IDs",
        "Approvers exist in Identity Authentication",
    ] {
        assert_eq!(verdict(&good, t), "Pass", "{t}:\n{good}");
    }

    // 26: a property copied from another guide.
    edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["nameIdFormat"] = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()
    })
    .await;
    let bad = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&bad, "No properties copied from other guides"),
        "Fail"
    );
    assert!(
        bad.contains("Failure mode 26: S4HANACloud has nameIdFormat"),
        "{bad}"
    );
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        verdict(
            &app.post(&path, &[]).await.body,
            "No properties copied from other guides"
        ),
        "Pass"
    );

    // 30: Identity Provisioning cleared a Global User ID in S/4HANA.
    let anna = users[0][0].as_str().unwrap_or("").to_string();
    s4(vec![("clear_global_id", anna.clone())]).await;
    let bad = app.post(&path, &[]).await.body;
    assert_eq!(verdict(&bad, "S/4HANA holds the Global User IDs"), "Fail");
    assert!(
        bad.contains(&format!("{anna}: none instead of")) && bad.contains("failure mode 30"),
        "{bad}"
    );
    s4(vec![("set_global_id", anna.clone())]).await;
    assert_eq!(
        verdict(
            &app.post(&path, &[]).await.body,
            "S/4HANA holds the Global User IDs"
        ),
        "Pass"
    );

    // 6: step 6 holds another UUID than IAS gives.
    let mut wrong = list.clone();
    wrong[0] = format!("{anna}, 0b4f1e2a-5c6d-4e7f-8a9b-0c1d2e3f4a5b");
    save6(wrong.join("\n")).await;
    let bad = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&bad, "Approvers exist in Identity Authentication"),
        "Fail"
    );
    assert!(
        bad.contains("Failure mode 6: the Global User ID of step 6 is not the IAS user UUID"),
        "{bad}"
    );

    // 24: nobody in the IAS user store (a corporate IdP without it).
    save6("someone@corporate.example\nother@corporate.example".into()).await;
    let bad = app.post(&path, &[]).await.body;
    assert_eq!(
        verdict(&bad, "Approvers exist in Identity Authentication"),
        "Fail"
    );
    assert!(bad.contains("(failure mode 24)"), "{bad}");
    save6(list.join("\n")).await;
    assert_eq!(
        verdict(
            &app.post(&path, &[]).await.body,
            "Approvers exist in Identity Authentication"
        ),
        "Pass"
    );

    // 27: S/4HANA's outbound user uses another client than the push key.
    let r = app
        .save(&id, "step-3-1", &[("push_key", &demo_push_key(&demo))])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    resave(
        &app,
        &id,
        "step-3-5",
        &[("push_outbound_client", "sb-old-push-key!b1")],
        &[],
    )
    .await;
    let bad = app.get(&path).await.body;
    assert_eq!(verdict(&bad, "S/4HANA pushes with the push key"), "Fail");
    assert!(bad.contains("Failure mode 27"), "{bad}");
    let push_client = demo["push_clientid"].as_str().unwrap_or("");
    resave(
        &app,
        &id,
        "step-3-5",
        &[("push_outbound_client", push_client)],
        &[],
    )
    .await;
    assert_eq!(
        verdict(
            &app.get(&path).await.body,
            "S/4HANA pushes with the push key"
        ),
        "Pass"
    );
}

/// Issue 22, dates ahead: the setup's dates as an iCalendar file that a
/// standard parser (Python's icalendar, pinned with the judges) reads, with
/// its reminders.
#[tokio::test]
async fn the_dates_ahead_are_a_calendar_file_a_standard_parser_reads() {
    let app = TestApp::spawn().await;
    let id = walk_all(&app, "ACME; Calendar, prod").await;
    walk_all(&app, "Globex quality").await;
    let r = app.get(&format!("/setups/{id}/calendar.ics")).await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = temp_dir();
    let file = dir.path().join("dates.ics");
    std::fs::write(&file, &r.body).expect("write");
    // Every setup the person can see, in one calendar; none for a stranger.
    let all = app.get("/calendar.ics").await;
    assert_eq!(all.status, StatusCode::OK);
    let all_file = dir.path().join("all.ics");
    std::fs::write(&all_file, &all.body).expect("write");
    let stranger = app.user("stranger").await;
    let none = app.get_as(&stranger, "/calendar.ics").await;
    assert_eq!(none.status, StatusCode::OK);
    let none_file = dir.path().join("none.ics");
    std::fs::write(&none_file, &none.body).expect("write");
    let python = std::env::var_os("WIZARD_JUDGES_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/judges-venv/bin/python")
        });
    let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
events = list(cal.walk('VEVENT'))
for e in events:
    alarms = [str(a.get('TRIGGER').to_ical(), 'ascii') for a in e.walk('VALARM')]
    print(e.get('DTSTART').dt.isoformat(), '|', e.get('SUMMARY'), '|', ','.join(alarms))
print('calendar', cal.calendar_name)
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let (_, der) = trust_certificate(&sap_cn(SUBACCOUNT), 730);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("DER");
    let day = time::OffsetDateTime::from_unix_timestamp(cert.validity().not_after.timestamp())
        .expect("day");
    let expected = format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    assert!(said.contains(&format!("{expected} | ACME; Calendar, prod: the BTP trust certificate expires | -P60D,-P30D,-P7D")), "{said}\n{}", r.body);
    // The calendar's own name (NAME, X-WR-CALNAME): icalendar keeps it as
    // written, escaped as TEXT.
    assert!(said.contains("calendar SAP Task Center: ACME"), "{said}");
    let parse = |f: &std::path::Path| {
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(f)
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let everything = parse(&all_file);
    assert!(
        everything.contains("| ACME; Calendar, prod: the BTP trust certificate expires |")
            && everything.contains("| Globex quality: the BTP trust certificate expires |"),
        "{everything}"
    );
    let nothing = parse(&none_file);
    assert!(
        !nothing.contains(" | "),
        "a stranger sees no date: {nothing}"
    );
}
