//! Step 5: SAP Build Work Zone (guided, by hand).

use super::*;

// ---- step 5 ----------------------------------------------------------------

const STEP5: &[Field] = &[
    confirm(
        "step5_confirm",
        "Done in SAP Build Work Zone",
        &[
            (
                "channel",
                "HTML5 apps content is updated in the Channel Manager",
            ),
            (
                "content",
                "Task Center (and Task Center Administration) are added to My Content",
            ),
            ("group", "A group holds the apps"),
            (
                "role",
                "The apps are assigned to a role (Everyone or your own)",
            ),
            ("site", "A site exists and its languages are active"),
        ],
    ),
    optional(text(
        "site_url",
        "Work Zone site URL (optional)",
        "The address of the site, for the handover report: in Work Zone, Site Directory > your site > Go to Site, then copy the browser's address.",
        |s, ctx| {
            domain::https_url(s, "site URL")
                .map_err(|e| {
                    let example = match (ctx.get("subdomain"), ctx.get("region")) {
                        (Some(sd), Some(r)) => {
                            format!("https://{sd}.launchpad.cfapps.{r}.hana.ondemand.com/site/…")
                        }
                        _ => "https://<subdomain>.launchpad.cfapps.<region>.hana.ondemand.com/site/…".into(),
                    };
                    format!(
                        "{e}. Copy it in SAP Build Work Zone: Site Directory > your site > Go to Site, then the browser's address (usually {example})."
                    )
                })
                .map(|c| plain("site_url", c, |v| v))
        },
    )),
];

fn guide_step5(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Open SAP Build Work Zone.",
            Some(
                "Subaccount > Instances and Subscriptions > SAP Build Work Zone, standard edition > Go to Application",
            ),
            vec![],
        ),
        instr(
            "Refresh the HTML5 apps content provider.",
            Some("Work Zone > Channel Manager > HTML5 Apps > Update content"),
            vec![],
        ),
        instr(
            "Add Task Center and Task Center Administration to your content.",
            Some("Work Zone > Content Manager > Content Explorer > HTML5 Apps"),
            vec![],
        ),
        instr(
            "Create a group with the apps and assign them to a role (Everyone, or a role of your own).",
            Some("Work Zone > Content Manager > My Content > Create"),
            vec![],
        ),
        instr(
            "Create the site and activate its languages.",
            Some("Work Zone > Site Directory > Create Site"),
            vec![],
        ),
    ]
}

pub(super) const PAGE: Page = Page {
    id: ids::WORK_ZONE,
    title: "SAP Build Work Zone site",
    section: "Connect Task Center",
    step: "5",
    intro: "Users open Task Center from a Work Zone site.",
    fields: STEP5,
    requires: &[ids::FACTS],
    depends_on: &[],
    guide: Some(guide_step5),
    summary: None,
    check: None,
    action: None,
};
