//! The checks that only show across a customer's systems (issue 23): one
//! setup per S/4HANA system, one IAS tenant per Task Center subaccount, the
//! current trust certificate in every system of a subaccount, destination
//! names and labels that tell the systems apart. From the answers alone.

use super::*;

/// The pages the systems of one subaccount share (copied when the next
/// system is connected): its IAS trust, the booster, the Task Center and
/// Destination service keys, Work Zone; step 1 names the subaccount itself.
pub const SHARED_PAGES: &[&str] = &[
    ids::SUBACCOUNT,
    ids::IAS_TRUST,
    ids::BOOSTER,
    ids::TASK_CENTER_KEY,
    ids::TRUST_CERTIFICATE,
    ids::WORK_ZONE,
];

/// A shared page as one system has it: when and by whom it was saved, and
/// its plain answers (secrets are compared nowhere: each save encrypts anew).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedPage {
    pub page: String,
    pub at: i64,
    pub by: String,
    pub values: Vec<(String, String)>,
}

/// One system of the landscape as its setup's answers have it.
#[derive(Debug, Clone, Default)]
pub struct System {
    pub id: String,
    pub name: String,
    pub host: Option<String>,
    pub subaccount: Option<String>,
    pub ias_host: Option<String>,
    /// SHA-256 and expiry of the trust certificate step 3.2 holds (the one
    /// given to this S/4HANA system).
    pub cert: Option<(String, i64)>,
    pub destination: Option<String>,
    pub label: Option<String>,
    /// For people: the subaccount's subdomain and the system's role.
    pub subdomain: Option<String>,
    pub role: Option<String>,
    pub shared: Vec<SharedPage>,
    /// Step 6's approvers that have a Global User ID: (e-mail, UUID).
    pub global_ids: Vec<(String, String)>,
}

impl System {
    pub fn of(setup: &crate::store::Setup, ctx: &Ctx) -> System {
        let get = |k: &str| ctx.get(k).map(str::to_string);
        let shared = SHARED_PAGES
            .iter()
            .filter(|p| **p != ids::SUBACCOUNT)
            .filter_map(|p| {
                let rec = setup.pages.get(*p)?;
                Some(SharedPage {
                    page: p.to_string(),
                    at: rec.updated_at,
                    by: rec.updated_by.clone(),
                    values: rec
                        .data
                        .iter()
                        .filter(|(k, _)| {
                            !k.contains('.')
                                && !k.starts_with('_')
                                && !crate::playbook::is_secret_key(k)
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
            })
            .collect();
        let global_ids = ctx
            .get("approvers")
            .and_then(|raw| crate::domain::parse_approvers(raw).ok())
            .map(|c| {
                c.value
                    .into_iter()
                    .filter_map(|a| Some((a.email, a.global_user_id?.to_ascii_lowercase())))
                    .collect()
            })
            .unwrap_or_default();
        System {
            shared,
            global_ids,
            id: setup.id.clone(),
            name: setup.name.clone(),
            host: ctx.s4().map(|s| s.host()),
            subaccount: get("subaccount_id").or_else(|| get("subdomain")),
            ias_host: get("ias_host"),
            cert: match (get("cert_sha256"), ctx.get("cert_not_after")) {
                (Some(sha), Some(t)) => t.parse().ok().map(|t| (sha, t)),
                _ => None,
            },
            destination: get("destination_name"),
            label: get("ui_label"),
            subdomain: get("subdomain"),
            role: ctx
                .get("system_role")
                .and_then(|r| crate::playbook::ROLES.iter().find(|(v, _)| *v == r))
                .map(|(_, l)| l.to_string()),
        }
    }
}

fn names(of: &[&System]) -> String {
    of.iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shared pages another system of the same subaccount saved later and
/// differently than `this`: (page, that system), newest first.
pub fn newer_copies<'a>(all: &'a [System], this: &str) -> Vec<(&'a SharedPage, &'a System)> {
    let Some(me) = all.iter().find(|s| s.id == this) else {
        return Vec::new();
    };
    let mut out: Vec<(&SharedPage, &System)> = Vec::new();
    for mine in &me.shared {
        let newest = all
            .iter()
            .filter(|o| o.id != me.id && o.subaccount.is_some() && o.subaccount == me.subaccount)
            .filter_map(|o| {
                o.shared
                    .iter()
                    .find(|p| p.page == mine.page)
                    .map(|p| (p, o))
            })
            .filter(|(p, _)| p.at > mine.at && p.values != mine.values)
            .max_by_key(|(p, _)| p.at);
        out.extend(newest);
    }
    out.sort_by_key(|(p, _)| std::cmp::Reverse(p.at));
    out
}

/// "changed on SYSTEM by WHO (WHEN)": a newer copy, for people.
pub fn changed(page: &SharedPage, on: &System) -> String {
    format!(
        "changed on {} by {} ({})",
        on.name,
        page.by,
        crate::fmt::date_time(page.at)
    )
}

/// Every landscape check for `this` system among the customer's `all`
/// (which holds it); `Skipped` where it has no sibling to compare with.
pub fn checks(all: &[System], this: &str) -> Vec<Check> {
    use Verdict::*;
    let Some(me) = all.iter().find(|s| s.id == this) else {
        return Vec::new();
    };
    let others: Vec<&System> = all.iter().filter(|s| s.id != this).collect();
    if others.is_empty() {
        return [
            LANDSCAPE_HOST,
            LANDSCAPE_IAS,
            LANDSCAPE_TRUST,
            LANDSCAPE_NAMES,
            LANDSCAPE_GLOBAL_IDS,
            LANDSCAPE_SHARED,
        ]
        .iter()
        .map(|d| {
            d.says(
                Skipped,
                "The customer has no other system in the wizard yet.",
            )
        })
        .collect();
    }
    let same = |f: fn(&System) -> &Option<String>| -> Vec<&System> {
        others
            .iter()
            .copied()
            .filter(|o| f(me).is_some() && f(o) == f(me))
            .collect()
    };
    let twice = same(|s| &s.host);
    let host = if twice.is_empty() {
        LANDSCAPE_HOST.says(
            Pass,
            format!(
                "No other setup of the customer is for {}.",
                me.host.as_deref().unwrap_or("this system")
            ),
        )
    } else {
        LANDSCAPE_HOST.says(Fail, format!(
            "Failure mode 9: {} {} for the same S/4HANA system {}: two destinations to one system make users get every task twice. Keep one setup per system (archive the other).",
            names(&twice),
            if twice.len() == 1 { "is also" } else { "are also" },
            me.host.as_deref().unwrap_or("")
        ))
    };
    let subaccount = same(|s| &s.subaccount);
    let other_ias: Vec<&System> = subaccount
        .iter()
        .copied()
        .filter(|o| o.ias_host.is_some() && me.ias_host.is_some() && o.ias_host != me.ias_host)
        .collect();
    let ias = if subaccount.is_empty() {
        LANDSCAPE_IAS.says(
            Pass,
            "No other system of the customer shares this Task Center subaccount.",
        )
    } else if other_ias.is_empty() {
        LANDSCAPE_IAS.says(
            Pass,
            format!(
                "{} share{} this subaccount and its IAS tenant {}.",
                names(&subaccount),
                if subaccount.len() == 1 { "s" } else { "" },
                me.ias_host.as_deref().unwrap_or("")
            ),
        )
    } else {
        LANDSCAPE_IAS.says(Fail, format!(
            "{} use{} the same Task Center subaccount with another IAS tenant ({}) than this system ({}). A subaccount trusts one IAS tenant and a Global User ID belongs to one: give each IAS tenant its own Task Center subaccount, or UUIDs from one never match in the other's S/4HANA.",
            names(&other_ias),
            if other_ias.len() == 1 { "s" } else { "" },
            other_ias.iter().filter_map(|o| o.ias_host.as_deref()).collect::<Vec<_>>().join(", "),
            me.ias_host.as_deref().unwrap_or("")
        ))
    };
    // Failure mode 13 across systems: the newest certificate of the
    // subaccount is the one it signs with; each system must hold it.
    let mut group: Vec<&System> = subaccount.clone();
    group.push(me);
    let newest = group
        .iter()
        .filter_map(|s| s.cert.as_ref())
        .max_by_key(|(_, t)| *t);
    let trust = match newest {
        None => LANDSCAPE_TRUST.says(
            Skipped,
            "No system of this subaccount holds a trust certificate on step 3.2 yet.",
        ),
        Some((sha, until)) => {
            let stale: Vec<&System> = group
                .iter()
                .copied()
                .filter(|s| s.cert.as_ref().is_some_and(|(c, _)| c != sha))
                .collect();
            if stale.is_empty() {
                LANDSCAPE_TRUST.says(
                    Pass,
                    format!(
                        "Every system of the subaccount holds the certificate valid until {}.",
                        crate::fmt::date(*until)
                    ),
                )
            } else {
                LANDSCAPE_TRUST.says(Fail, format!(
                    "Failure mode 13 across the landscape: the subaccount's newest trust certificate (valid until {}) reached {}, but {} still hold{} an older one. Fetch it on step 3.2 of each and upload it to their communication systems.",
                    crate::fmt::date(*until),
                    names(&group.iter().copied().filter(|s| !stale.iter().any(|x| x.id == s.id)).collect::<Vec<_>>()),
                    names(&stale),
                    if stale.len() == 1 { "s" } else { "" }
                ))
            }
        }
    };
    let same_name = subaccount
        .iter()
        .copied()
        .filter(|o| o.destination.is_some() && o.destination == me.destination)
        .collect::<Vec<_>>();
    let same_label = others
        .iter()
        .copied()
        .filter(|o| o.label.is_some() && o.label == me.label)
        .collect::<Vec<_>>();
    let names_check = if !same_name.is_empty() {
        LANDSCAPE_NAMES.says(Fail, format!(
            "{} write{} the destination {} in the same subaccount: each would overwrite the other's. Give each system a name of its own (its role on the first page proposes one).",
            names(&same_name),
            if same_name.len() == 1 { "s" } else { "" },
            me.destination.as_deref().unwrap_or("")
        ))
    } else if !same_label.is_empty() {
        LANDSCAPE_NAMES.says(Warning, format!(
            "{} label{} tasks \"{}\" too: users cannot tell the systems' tasks apart in Task Center. Set the system's role on the first page, or another tc.ui.label on step 4.",
            names(&same_label),
            if same_label.len() == 1 { "s" } else { "" },
            me.label.as_deref().unwrap_or("")
        ))
    } else {
        LANDSCAPE_NAMES.says(
            Pass,
            "Its destination name and label differ from the customer's other systems'.",
        )
    };
    let global_ids = global_ids_check(me, &others);
    let newer = newer_copies(all, this);
    let shared = match newer.first() {
        None => LANDSCAPE_SHARED.says(
            Pass,
            "Its copies of the subaccount's pages agree with the other systems'.",
        ),
        Some((p, _)) => LANDSCAPE_SHARED.at(page_of(&p.page)).says(
            Warning,
            format!(
                "Needs review: {}. Take the newer answers over on the customer's page, or change them back there.",
                newer
                    .iter()
                    .map(|(p, o)| format!("{} was {}", super::page_title(&p.page), changed(p, o)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    };
    vec![host, ias, trust, names_check, global_ids, shared]
}

/// A user UUID belongs to the IAS tenant that made it: the same UUID on a
/// system whose subaccount trusts another tenant was copied from there (the
/// test tenant's UUIDs typed into production), and never matches here.
fn global_ids_check(me: &System, others: &[&System]) -> Check {
    use Verdict::*;
    let def = LANDSCAPE_GLOBAL_IDS;
    let Some(my_ias) = me.ias_host.as_deref() else {
        return def.says(
            Skipped,
            "Needs the IAS tenant the subaccount trusts (step 2).",
        );
    };
    if me.global_ids.is_empty() {
        return def.says(Skipped, "No approver on step 6 has a Global User ID yet.");
    }
    let mut copied: Vec<String> = Vec::new();
    for (email, uuid) in &me.global_ids {
        let from = others.iter().find(|o| {
            o.ias_host.as_deref().is_some_and(|h| h != my_ias)
                && o.global_ids.iter().any(|(_, u)| u == uuid)
        });
        if let Some(o) = from {
            copied.push(format!(
                "{email} ({uuid}, also on {}, which trusts {})",
                o.name,
                o.ias_host.as_deref().unwrap_or("")
            ));
        }
    }
    if copied.is_empty() {
        def.says(
            Pass,
            format!(
                "None of its {} Global User IDs is held by a system that trusts another IAS tenant than {my_ias}.",
                me.global_ids.len()
            ),
        )
    } else {
        def.says(Fail, format!(
            "The same UUID on systems that trust different IAS tenants: {}. A UUID belongs to the IAS tenant that made it, so one of them was copied from the other's tenant and never matches there: the user sees no tasks. Step 6 must hold the UUIDs of {my_ias}, the tenant this subaccount trusts; Verify's online check \"Approvers exist in Identity Authentication\" reads them there.",
            copied.join("; ")
        ))
    }
}

/// A shared page's id as the playbook names it (a check's page).
fn page_of(page: &str) -> &'static str {
    SHARED_PAGES
        .iter()
        .find(|p| **p == page)
        .copied()
        .unwrap_or(ids::IAS_TRUST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(id: &str, host: &str, ias: &str, cert: (&str, i64), dest: &str) -> System {
        System {
            id: id.into(),
            name: id.to_uppercase(),
            host: Some(host.into()),
            subaccount: Some("sub".into()),
            ias_host: Some(ias.into()),
            cert: Some((cert.0.into(), cert.1)),
            destination: Some(dest.into()),
            label: Some(format!("Label {dest}")),
            ..System::default()
        }
    }

    #[test]
    fn the_landscape_rules_name_the_systems_concerned() {
        let all = [
            system("dev", "my1", "test-ias", ("new", 20), "S4_DEV"),
            system("qas", "my2", "prod-ias", ("old", 10), "S4_QAS"),
            system("prd", "my2", "prod-ias", ("old", 10), "S4_QAS"),
        ];
        let prd = checks(&all, "prd");
        let verdict = |c: &[Check], i: usize| c[i].verdict;
        assert_eq!(verdict(&prd, 0), Verdict::Fail, "{}", prd[0].reason);
        assert!(
            prd[0]
                .reason
                .contains("QAS is also for the same S/4HANA system my2")
        );
        assert_eq!(verdict(&prd, 1), Verdict::Fail);
        assert!(prd[1].reason.contains(
            "DEV uses the same Task Center subaccount with another IAS tenant (test-ias)"
        ));
        assert_eq!(verdict(&prd, 2), Verdict::Fail);
        assert!(
            prd[2]
                .reason
                .contains("reached DEV, but QAS, PRD still hold an older one"),
            "{}",
            prd[2].reason
        );
        assert_eq!(verdict(&prd, 3), Verdict::Fail, "same destination name");
        // Production's approver holds the UUID the test tenant gave her.
        let mut all = all;
        all[0].global_ids = vec![("ana@acme.example".into(), "u-test".into())];
        all[2].global_ids = vec![("ana@acme.example".into(), "u-test".into())];
        let prd = checks(&all, "prd");
        let ids = prd.iter().find(|c| c.id == "landscape-global-ids");
        assert_eq!(ids.map(|c| c.verdict), Some(Verdict::Fail), "{prd:?}");
        assert!(
            ids.is_some_and(|c| c
                .reason
                .contains("ana@acme.example (u-test, also on DEV, which trusts test-ias)")),
            "{prd:?}"
        );
        all[0].ias_host = Some("prod-ias".into());
        let same_tenant = checks(&all, "prd");
        assert!(
            same_tenant
                .iter()
                .any(|c| c.id == "landscape-global-ids" && c.verdict == Verdict::Pass),
            "one tenant's UUIDs on two systems are right"
        );
        let alone = checks(&all[..1], "dev");
        assert!(alone.iter().all(|c| c.verdict == Verdict::Skipped));
        let mut fine = [
            system("dev", "my1", "ias", ("c", 20), "S4_DEV"),
            system("prd", "my2", "ias", ("c", 20), "S4_PRD"),
        ];
        for s in &mut fine {
            s.global_ids = vec![("ana@acme.example".into(), "u-1".into())];
        }
        assert!(
            checks(&fine, "prd")
                .iter()
                .all(|c| c.verdict == Verdict::Pass)
        );
    }
}
