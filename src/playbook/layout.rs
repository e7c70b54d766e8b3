//! Answers saved under an earlier arrangement of the pages, moved to the page
//! that asks for them now (stored setups at start, imported files).
//!
//! Layout 1 asked the subaccount's subdomain and ID and the IAS tenant on the
//! first page and the plan and booster in step 1; layout 2 follows SAP's order:
//! subaccount (step 1), trust (2.1), then the booster (2.2).

use std::collections::BTreeMap;

use crate::store::{PageRecord, Setup};

/// The arrangement of answers this build writes.
pub const LAYOUT: i64 = 2;

/// Confirmations that changed their field when they changed page: old key, new key.
const RENAMED: &[(&str, &str)] = &[
    ("step1_confirm.booster", "booster_confirm.booster"),
    ("step1_confirm.roles", "booster_confirm.roles"),
    (
        "step2_confirm.ids_destination",
        "booster_confirm.ids_destination",
    ),
];

/// Move every answer to the page that asks for it now (renamed ones under
/// their new key). A value already on its own page wins over a stray copy.
/// Keys no page asks for (`_warnings`, or unknown ones an import will name)
/// stay where they are. Returns the pages whose answers changed.
pub fn relayout(pages: &mut BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let mut moves = Vec::new();
    for (page, data) in pages.iter() {
        for key in data.keys() {
            let new_key = RENAMED
                .iter()
                .find(|(old, _)| old == key)
                .map_or(key.as_str(), |(_, new)| *new);
            if let Some(to) = super::home(new_key)
                && (to.id != page || new_key != key)
            {
                moves.push((page.clone(), key.clone(), to.id, new_key.to_string()));
            }
        }
    }
    let mut changed = Vec::new();
    for (from, key, to, new_key) in moves {
        let Some(value) = pages.get_mut(&from).and_then(|d| d.remove(&key)) else {
            continue;
        };
        let target = pages.entry(to.to_string()).or_default();
        target.entry(new_key).or_insert(value);
        for p in [from, to.to_string()] {
            if !changed.contains(&p) {
                changed.push(p);
            }
        }
    }
    changed
}

/// A stored setup's pages in this layout, or `None` when nothing moves.
/// Pages that changed get the next version (a form opened before the move
/// is refused, not saved over it); their basis is recomputed when it was
/// current, so a page that needed review still does and no other starts to.
pub fn upgrade(setup: &Setup) -> Option<BTreeMap<String, PageRecord>> {
    let mut data: BTreeMap<String, BTreeMap<String, String>> = setup
        .pages
        .iter()
        .map(|(k, r)| (k.clone(), r.data.clone()))
        .collect();
    let changed = relayout(&mut data);
    if changed.is_empty() {
        return None;
    }
    let hidden = |_: &str| None;
    let ctx = super::Ctx::new(setup, &hidden, 0);
    let was_current = |basis: &str| {
        basis.lines().all(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            ctx.get(k).unwrap_or("") == v
        })
    };
    // The first page that gave up answers lends who and when to a page new here.
    let lender = changed.iter().find_map(|p| setup.pages.get(p)).cloned();
    let mut moved = setup.clone();
    moved.pages.clear();
    for (id, answers) in data {
        let old = setup.pages.get(&id).cloned();
        let Some(mut rec) = old.clone().or_else(|| lender.clone()) else {
            continue;
        };
        if changed.contains(&id) {
            rec.version = old.as_ref().map_or(1, |o| o.version + 1);
            if old.is_none() {
                rec.problem = None;
                rec.checked_note = None;
                rec.checked_at = None;
            }
        }
        rec.data = answers;
        moved.pages.insert(id, rec);
    }
    let ctx_after = super::Ctx::new(&moved, &hidden, 0);
    let mut pages = moved.pages.clone();
    for (id, rec) in pages.iter_mut() {
        let Some(page) = super::page(id) else {
            continue;
        };
        let current = setup
            .pages
            .get(id)
            .is_none_or(|old| was_current(&old.basis));
        if current {
            rec.basis = super::basis(page, &ctx_after);
        }
    }
    Some(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn answers_move_to_the_page_that_asks_for_them() {
        let mut pages = BTreeMap::from([
            (
                "facts".to_string(),
                page(&[
                    ("s4_host", "my404687.s4hana.ondemand.com"),
                    ("subdomain", "acme"),
                    ("subaccount_id", "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b"),
                    ("ias_host", "acme.accounts.ondemand.com"),
                    ("_warnings", "kept"),
                ]),
            ),
            (
                "step-1".to_string(),
                page(&[
                    ("plan", "all-tasks"),
                    ("step1_confirm.subaccount", "1|anna"),
                    ("step1_confirm.booster", "2|anna"),
                ]),
            ),
            (
                "step-2".to_string(),
                page(&[
                    ("step2_confirm.ids_destination", "3|bob"),
                    ("ias_client_secret", "enc:v1:x"),
                    ("_bound.ias_client_secret", "acme.accounts.ondemand.com"),
                ]),
            ),
        ]);
        let mut changed = relayout(&mut pages);
        changed.sort();
        assert_eq!(changed, ["booster", "facts", "step-1", "step-2"]);
        assert_eq!(
            pages["facts"],
            page(&[
                ("s4_host", "my404687.s4hana.ondemand.com"),
                ("_warnings", "kept")
            ])
        );
        assert_eq!(
            pages["step-1"],
            page(&[
                ("subdomain", "acme"),
                ("subaccount_id", "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b"),
                ("step1_confirm.subaccount", "1|anna"),
            ])
        );
        assert_eq!(pages["step-2"]["ias_host"], "acme.accounts.ondemand.com");
        assert_eq!(
            pages["step-2"]["_bound.ias_client_secret"],
            "acme.accounts.ondemand.com"
        );
        assert_eq!(
            pages["booster"],
            page(&[
                ("plan", "all-tasks"),
                ("booster_confirm.booster", "2|anna"),
                ("booster_confirm.ids_destination", "3|bob"),
            ])
        );
        assert!(
            relayout(&mut pages).is_empty(),
            "a second pass moves nothing"
        );
    }

    #[test]
    fn the_value_on_its_own_page_wins_over_a_stray_copy() {
        let mut pages = BTreeMap::from([
            ("facts".to_string(), page(&[("subdomain", "old")])),
            ("step-1".to_string(), page(&[("subdomain", "new")])),
        ]);
        relayout(&mut pages);
        assert_eq!(pages["step-1"]["subdomain"], "new");
        assert!(pages["facts"].is_empty(), "the page stays, started");
    }
}
