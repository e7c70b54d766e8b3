//! The sandbox judged by others (issue 20): SAP's OpenAPI file for Service
//! Manager reads every request the wizard sent and every answer the sandbox
//! gave, with undeclared fields refused (a renamed field is a finding), and
//! an independent SCIM 2.0 implementation (scim2-models, RFC 7643/7644)
//! reads the IAS and S/4HANA SCIM exchanges. Each judge is also shown to
//! fail on an answer with a field renamed.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// The judges' Python, with their pinned packages (`.ci/run` makes it).
fn python() -> PathBuf {
    std::env::var_os("WIZARD_JUDGES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/judges-venv/bin/python")
        })
}

/// Run a judge on `exchanges`; (passed, what it printed).
pub(crate) fn judge(args: &[&str], exchanges: &Value) -> (bool, String) {
    let dir = temp_dir();
    let file = dir.path().join("exchanges.json");
    std::fs::write(&file, exchanges.to_string()).expect("write");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/judges/judge.py");
    let py = python();
    assert!(
        py.exists(),
        "{} is missing: .ci/run installs the judges (python3 -m venv target/judges-venv && target/judges-venv/bin/pip install -r tests/judges/requirements.txt)",
        py.display()
    );
    let out = std::process::Command::new(py)
        .arg(script)
        .args(args)
        .arg(&file)
        .output()
        .expect("run the judge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub(crate) fn spec(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/judges/specs")
        .join(name)
        .display()
        .to_string()
}

/// The first exchange whose answer is a JSON object with `field`, with that
/// field renamed: what a sandbox that drifted from SAP would send.
pub(crate) fn renamed(exchanges: &Value, field: &str) -> Value {
    let mut all = exchanges.as_array().cloned().unwrap_or_default();
    let e = all
        .iter_mut()
        .find(|e| {
            serde_json::from_str::<Value>(e["response_body"].as_str().unwrap_or(""))
                .is_ok_and(|b| b.get(field).is_some())
        })
        .expect("an answer with the field");
    let mut body: Value =
        serde_json::from_str(e["response_body"].as_str().unwrap_or("")).expect("json");
    let v = body[field].take();
    if let Some(o) = body.as_object_mut() {
        o.remove(field);
        o.insert(format!("{field}_renamed"), v);
    }
    e["response_body"] = body.to_string().into();
    Value::Array(vec![e.clone()])
}

#[tokio::test]
async fn service_manager_answers_as_sap_s_openapi_file_says() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-3-1"]).await;
    app.use_service_manager(&id, &demo, false).await;
    // Read, create (instance, then key, each asynchronous), read again.
    let (_, done) = app.confirm_plan(&id, "push-key").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    app.allow_task_center_through_service_manager().await;
    let again = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    assert_eq!(again.status, StatusCode::OK);
    let host = "service-manager.cfapps.eu10.hana.ondemand.com";
    let exchanges = get_json(app.sandbox_url(&format!("/_sandbox/exchanges?host={host}"))).await;
    let n = exchanges.as_array().map_or(0, Vec::len);
    assert!(n >= 6, "lists, creates, operations and reads: {n}");
    let (ok, said) = judge(&["openapi", &spec("service-manager.json")], &exchanges);
    assert!(ok, "SAP's OpenAPI file refuses:\n{said}");
    // The judge is not a rubber stamp: a renamed field of an answer fails.
    let (ok, said) = judge(
        &["openapi", &spec("service-manager.json")],
        &renamed(&exchanges, "id"),
    );
    assert!(!ok && said.contains("id_renamed"), "{said}");
}

#[tokio::test]
async fn the_scim_simulations_answer_as_scim_2_0_says() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    // IAS: the look-up of step 6; S/4HANA: the SCIM plan and its writes.
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2"]).await;
    let scim = &demo["s4_api_users"][1];
    let r = app
        .save(
            &id,
            "step-6",
            &[
                (
                    "approvers",
                    "anna.berg@acme.example\nchris.lee@acme.example\nnobody@acme.example",
                ),
                ("scim_api_user", scim[0].as_str().unwrap_or("")),
                ("scim_api_password", scim[1].as_str().unwrap_or("")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = client()
        .post(app.sandbox_url("/_sandbox/s4"))
        .form(&[("clear_global_id", "chris.lee@acme.example")])
        .send()
        .await
        .expect("s4");
    assert!(r.status().is_success());
    let (_, done) = app.confirm_plan(&id, "s4-users").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let all = get_json(app.sandbox_url("/_sandbox/exchanges")).await;
    let scim: Vec<Value> = all
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["path"].as_str().unwrap_or("").contains("/Users"))
        .collect();
    let hosts: std::collections::BTreeSet<&str> =
        scim.iter().filter_map(|e| e["host"].as_str()).collect();
    assert!(
        hosts.iter().any(|h| h.ends_with(".accounts.ondemand.com"))
            && hosts
                .iter()
                .any(|h| h.ends_with("-api.s4hana.ondemand.com")),
        "both IAS and S/4HANA: {hosts:?}"
    );
    assert!(
        scim.iter()
            .any(|e| e["method"] == "PATCH" || e["method"] == "PUT"),
        "a write was judged too"
    );
    let scim = Value::Array(scim);
    let (ok, said) = judge(&["scim"], &scim);
    assert!(ok, "SCIM 2.0 refuses:\n{said}");
    let (ok, said) = judge(&["scim"], &renamed(&scim, "schemas"));
    assert!(!ok, "a SCIM answer without its schemas passed:\n{said}");
}
