//! Answers: the valid answers of every page, and saving pages with them.

use super::*;

pub fn service_key(subdomain: &str, region: &str, tenant: &str) -> String {
    format!(
        r#"{{"endpoints":{{"inbox_rest_url":"https://api.workflow-sap.cfapps.{region}.hana.ondemand.com/task-center-service","inbox_odata_url":"https://api.workflow-sap.cfapps.{region}.hana.ondemand.com/task-center-service/odata/v2"}},
"sap.cloud.service":"com.sap.bpm.inbox-service",
"uaa":{{"clientid":"{TEST_CLIENT_ID}","clientsecret":"{CLIENT_SECRET}","url":"https://{subdomain}.authentication.{region}.hana.ondemand.com","uaadomain":"authentication.{region}.hana.ondemand.com","identityzone":"{subdomain}","tenantid":"{tenant}","xsappname":"clone-5c1f!b1234|one-inbox-service!b456"}}}}"#
    )
}

/// A self-signed certificate shaped like a BTP destination trust certificate.
pub fn trust_certificate(cn: &str, days_valid: i64) -> (String, Vec<u8>) {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::OrganizationalUnitName,
        "CP Destination Configuration",
    );
    dn.push(DnType::OrganizationName, "SAP");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(30);
    params.not_after = now + time::Duration::days(days_valid);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), cert.der().to_vec())
}

pub fn sap_cn(subaccount: &str) -> String {
    format!("cfapps.eu10.hana.ondemand.com/{subaccount}")
}

/// The valid answers of every page, used by the full walk and as a base.
pub fn valid_answers(page: &str) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_string();
    match page {
        "facts" => vec![
            (
                "s4_host",
                s("https://my404687.s4hana.ondemand.com/ui#Shell-home"),
            ),
            ("s4_client", s("100")),
            ("region", s("eu10")),
        ],
        "step-1" => vec![
            ("subdomain", s("acme-tc")),
            ("subaccount_id", s(SUBACCOUNT)),
            ("cf_org", s("acme-tc_org")),
            ("cf_space", s("dev")),
        ],
        "step-2" => vec![
            ("ias_host", s("acme.accounts.ondemand.com")),
            ("ias_client_id", s("3b9d7c1e-ias-client")),
        ],
        "booster" => vec![("plan", s("all-tasks"))],
        "step-3-1" => vec![("service_key", service_key("acme-tc", "eu10", SUBACCOUNT))],
        "step-3-3" => vec![
            ("comm_user", s("TASKCENTERCOM")),
            ("comm_user_description", s("Task Center inbound")),
            ("comm_password", s(PASSWORD)),
        ],
        "step-3-4" => vec![
            ("comm_system_id", s("BTP_TASK_CENTER")),
            ("comm_system_name", s("BTP Task Center")),
        ],
        "step-3-5" => vec![
            ("arrangement_name", s("TASK_CENTER_0501")),
            ("client_id", s("TASKCENTERCOM")),
            (
                "token_service_url",
                s("https://my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token"),
            ),
            ("saml2_audience", s("https://my404687.s4hana.ondemand.com")),
            (
                "replication_url",
                s(
                    "https://my404687-api.s4hana.ondemand.com/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/?sap-client=100",
                ),
            ),
        ],
        "step-4" => vec![
            ("destination_name", s("S4HANACloud")),
            (
                "authn_context",
                s("urn:oasis:names:tc:SAML:2.0:ac:classes:X509"),
            ),
            ("push", s("no")),
            ("notifications", s("true")),
            ("pull_days", s("180")),
            ("ui_label", s("SAP S/4HANA Cloud Task")),
        ],
        "step-5" => vec![(
            "site_url",
            s("https://acme-tc.launchpad.cfapps.eu10.hana.ondemand.com/site"),
        )],
        "step-6" => vec![(
            "approvers",
            s(
                "anna.berg@acme.example, d1a6b3c2-0000-4000-8000-000000000001\nbob.stone@acme.example, d1a6b3c2-0000-4000-8000-000000000002",
            ),
        )],
        _ => vec![],
    }
}

/// Open `page`, tick every confirmation it shows, and save it with `answers`.
pub async fn save_ticking_all(
    app: &TestApp,
    id: &str,
    page: &str,
    answers: &[(&'static str, String)],
) -> Page {
    save_ticking_all_as(app, &app.client, id, page, answers).await
}

/// The same, as the user of client `c`.
pub async fn save_ticking_all_as(
    app: &TestApp,
    c: &reqwest::Client,
    id: &str,
    page: &str,
    answers: &[(&'static str, String)],
) -> Page {
    let shown = app.get_as(c, &format!("/setups/{id}/pages/{page}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{page}: {}", shown.body);
    let confirm_keys = [
        "step1_confirm",
        "step2_confirm",
        "booster_confirm",
        "step34_confirm",
        "step35_confirm",
        "step5_confirm",
        "step6_confirm",
    ];
    let ticks: Vec<(String, String)> = confirm_keys
        .iter()
        .flat_map(|k| {
            checkbox_values(&shown.body, k)
                .into_iter()
                .map(move |v| (k.to_string(), v))
        })
        .collect();
    let mut form: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend(ticks.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    app.save_as(c, id, page, &form).await
}

/// Save a page with its valid answers, ticking every confirmation shown.
pub async fn complete_page(app: &TestApp, id: &str, page: &str) -> Page {
    if page == "step-3-2" {
        let (pem, _) = trust_certificate(&sap_cn(SUBACCOUNT), 730);
        let shown = app.get(&format!("/setups/{id}/pages/{page}")).await;
        let form = reqwest::multipart::Form::new()
            .text("_version", version_of(&shown.body))
            .text("_action", "continue")
            .part(
                "certificate",
                reqwest::multipart::Part::bytes(pem.into_bytes()).file_name("trust.pem"),
            );
        return app
            .post_multipart(&format!("/setups/{id}/pages/{page}"), form)
            .await;
    }
    save_ticking_all(app, id, page, &valid_answers(page)).await
}

pub const PAGES: &[&str] = &[
    "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
    "step-3-5", "step-4", "step-5", "step-6",
];

/// Complete every page in order up to `last` with its valid answers.
pub async fn walk_to(app: &TestApp, id: &str, last: &str) {
    for page in PAGES {
        let r = complete_page(app, id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
        if *page == last {
            break;
        }
    }
}
