//! What consultants paste (issue 21): text around a key, invisible
//! characters, lists from mail clients and spreadsheets, thousands of
//! approvers, Global User IDs in other forms. Each answered in words.

use reqwest::StatusCode;

use crate::support::*;

/// Save `page` with `fields`; the page shown after, which holds its notes.
async fn saved_with_notes(app: &TestApp, id: &str, page: &str, fields: &[(&str, &str)]) -> String {
    let r = app.save(id, page, fields).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "{page}: {}",
        title_of(&r.body)
    );
    let to = r.location.unwrap_or_default();
    assert!(
        to.ends_with(&format!("/pages/{page}?saved=1")),
        "notes first: {to}"
    );
    app.get(&to).await.body
}

#[tokio::test]
async fn a_key_with_what_a_tool_printed_around_it_is_taken_and_said() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Pasted key").await;
    walk_to(&app, &id, "step-3-2").await;
    let key = service_key("acme-tc", "eu10", SUBACCOUNT);
    let printed = format!(
        "Getting key tc-key for service instance default_taskcenter as admin...\n\n{{\n\"credentials\": {key}\n}}\n"
    );
    let shown = saved_with_notes(&app, &id, "step-3-1", &[("service_key", &printed)]).await;
    assert!(shown.contains("text around the service key"), "{shown}");
    assert!(!shown.contains("only part of it was copied"));
    let commented = format!("// Task Center key, production\n{key}");
    let shown = saved_with_notes(&app, &id, "step-3-1", &[("service_key", &commented)]).await;
    assert!(shown.contains("the one JSON object"), "{shown}");
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert!(tasks.contains("id=\"status-step-3-1\">Completed<"));
}

#[tokio::test]
async fn invisible_characters_are_removed_and_said_never_shown() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Invisible").await;
    let host = "\u{200B}https://my404687.s4hana.ondemand.com/ui#Shell-home\u{00A0}\n";
    let shown = saved_with_notes(
        &app,
        &id,
        "facts",
        &[
            ("s4_host", host),
            ("s4_client", "100\u{200D}"),
            ("region", "eu10"),
        ],
    )
    .await;
    assert!(
        shown.contains("zero-width space") && shown.contains("no-break space"),
        "{shown}"
    );
    assert!(
        !shown.contains('\u{200B}') && !shown.contains('\u{00A0}') && !shown.contains('\u{200D}')
    );
    walk_to(&app, &id, "step-3-5").await;
    let check = app.get(&format!("/setups/{id}/pages/check")).await.body;
    assert!(
        check.contains("https://my404687-api.s4hana.ondemand.com"),
        "the cleaned host is used"
    );
    // In a name: kept without the character, and said.
    let mut d = valid_answers("step-4");
    d.retain(|(k, _)| *k != "destination_name");
    d.push(("destination_name", "S4HANACloud\u{200B}".into()));
    let form: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let shown = saved_with_notes(&app, &id, "step-4", &form).await;
    assert!(
        shown.contains("Destination name: removed a zero-width space"),
        "{shown}"
    );
    assert!(shown.contains("value=\"S4HANACloud\""));
}

#[tokio::test]
async fn approvers_from_a_mail_client_or_a_spreadsheet_keep_one_address_per_person() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Approvers").await;
    walk_to(&app, &id, "step-5").await;
    let mail =
        "Anna Berg <anna@acme.com>; \"Smith, Bob\" <bob@acme.com>, carol@acme.com; ANNA@acme.com";
    let shown = saved_with_notes(&app, &id, "step-6", &[("approvers", mail)]).await;
    assert!(
        shown.contains("Kept 3 approver(s), one per e-mail address"),
        "{shown}"
    );
    assert!(
        shown.contains("2 display name(s)") && shown.contains("1 duplicate(s)"),
        "{shown}"
    );
    let listed = between(&shown, "name=\"approvers\"", "</textarea>").unwrap_or_default();
    assert!(
        listed.contains("anna@acme.com\nbob@acme.com\ncarol@acme.com"),
        "{listed}"
    );
    let csv = "Name;E-Mail;Global User ID\nAnna Berg;anna@acme.com;d1a6b3c2-0000-4000-8000-000000000001\nBob;bob@acme.com;\n";
    let shown = saved_with_notes(&app, &id, "step-6", &[("approvers", csv)]).await;
    assert!(shown.contains("the header row"), "{shown}");
    let listed = between(&shown, "name=\"approvers\"", "</textarea>").unwrap_or_default();
    assert!(
        listed.contains("anna@acme.com, d1a6b3c2-0000-4000-8000-000000000001\nbob@acme.com"),
        "{listed}"
    );
}

#[tokio::test]
async fn ten_thousand_approvers_are_taken() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Large customer").await;
    walk_to(&app, &id, "step-5").await;
    let list: String = (0..10_000)
        .map(|i| format!("user{i:05}@acme.com, {:08x}-0000-4000-8000-{:012x}\n", i, i))
        .collect();
    let r = app.save(&id, "step-6", &[("approvers", &list)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", title_of(&r.body));
    let csv = app.get(&format!("/setups/{id}/global-user-ids.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.body.lines().count(),
        10_001,
        "a header and each approver"
    );
    assert!(csv.body.contains("user09999@acme.com"));
}

#[tokio::test]
async fn global_user_ids_in_another_form_than_ias_gives_are_named() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("UUID forms").await;
    walk_to(&app, &id, "step-5").await;
    let shown = saved_with_notes(
        &app,
        &id,
        "step-6",
        &[(
            "approvers",
            "anna@acme.com, D1A6B3C2000040008000000000000001",
        )],
    )
    .await;
    assert!(
        shown.contains("compares the Global User ID with the IAS user UUID exactly"),
        "{shown}"
    );
    assert!(
        shown.contains("d1a6b3c2-0000-4000-8000-000000000001"),
        "the IAS form is offered"
    );
    let r = app
        .save(
            &id,
            "step-6",
            &[(
                "approvers",
                "anna@acme.com, {d1a6b3c2-0000-4000-8000-000000000001}",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("in braces") && r.body.contains("d1a6b3c2-0000-4000-8000-000000000001")
    );
}
