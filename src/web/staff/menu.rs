//! The staff menu: the places it names, in words a policy officer uses, and which of
//! them a page belongs to. The place comes from the request's path, in one place
//! ([`place_of`]), so that no handler has to say where it is and a new page under a
//! known path is marked without a change here.

/// A part of the admin the menu names (or, for one's own account, the «Innlogget som»
/// link beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Overview,
    Issues,
    NewIssue,
    Contacts,
    Publications,
    Inbound,
    Log,
    Accounts,
    Settings,
    Help,
    OwnAccount,
    /// A page the menu does not name.
    Elsewhere,
}

/// One entry of the menu.
pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The menu, in its order: the place, its address, its name.
const MENU: [(Place, &str, &str); 10] = [
    (Place::Overview, "/admin", "Oversikt"),
    (Place::Issues, "/admin/issues", "Utgaver"),
    (Place::NewIssue, "/admin/issues/new", "Ny utgave"),
    (Place::Contacts, "/admin/contacts", "Kontakter"),
    (Place::Publications, "/admin/publications", "Publikasjoner"),
    (Place::Inbound, "/admin/inbound", "E-post til KOM"),
    (Place::Log, "/admin/audit", "Logg over endringer"),
    (Place::Accounts, "/admin/staff", "Stabskontoer"),
    (Place::Settings, "/admin/innstillinger", "Innstillinger"),
    (Place::Help, "/admin/hjelp", "Hjelp"),
];

/// Where each path prefix belongs, the more particular first: a new issue (also one
/// uploaded from Word) is «Ny utgave», not «Utgaver»; returned mail is read from the
/// page of mail to KOM; API tokens are reached from the accounts; the second factor is
/// part of one's own account.
const PREFIXES: [(&str, Place); 14] = [
    ("/admin/issues/new", Place::NewIssue),
    ("/admin/issues/upload", Place::NewIssue),
    ("/admin/issues", Place::Issues),
    ("/admin/contacts", Place::Contacts),
    ("/admin/publications", Place::Publications),
    ("/admin/inbound", Place::Inbound),
    ("/admin/bounces", Place::Inbound),
    ("/admin/audit", Place::Log),
    ("/admin/staff", Place::Accounts),
    ("/admin/api-tokens", Place::Accounts),
    ("/admin/hjelp", Place::Help),
    ("/admin/innstillinger", Place::Settings),
    ("/admin/account", Place::OwnAccount),
    ("/admin/totp", Place::OwnAccount),
];

/// The place a request's path belongs to.
pub fn place_of(path: &str) -> Place {
    let path = path.trim_end_matches('/');
    if path == "/admin" {
        return Place::Overview;
    }
    PREFIXES
        .iter()
        .find(|(prefix, _)| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .map_or(Place::Elsewhere, |(_, place)| *place)
}

/// The menu with `here` marked.
pub fn menu(here: Place) -> Vec<MenuItem> {
    MENU.iter()
        .map(|&(place, href, label)| MenuItem {
            href,
            label,
            current: place == here,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_belongs_to_its_place() {
        for (path, place) in [
            ("/admin", Place::Overview),
            ("/admin/", Place::Overview),
            ("/admin/issues", Place::Issues),
            ("/admin/issues/2025-q1/send", Place::Issues),
            ("/admin/issues/new", Place::NewIssue),
            ("/admin/issues/upload", Place::NewIssue),
            ("/admin/issues/newer", Place::Issues),
            ("/admin/contacts/12/edit", Place::Contacts),
            ("/admin/contacts/import/abc", Place::Contacts),
            ("/admin/publications/rettsavgjorelser", Place::Publications),
            ("/admin/inbound/3/add-contact", Place::Inbound),
            ("/admin/bounces", Place::Inbound),
            ("/admin/audit", Place::Log),
            ("/admin/staff", Place::Accounts),
            ("/admin/api-tokens", Place::Accounts),
            ("/admin/hjelp", Place::Help),
            ("/admin/innstillinger", Place::Settings),
            ("/admin/account", Place::OwnAccount),
            ("/admin/totp", Place::OwnAccount),
            ("/admin/login/kode", Place::Elsewhere),
            ("/admin/auditor", Place::Elsewhere),
        ] {
            assert_eq!(place_of(path), place, "{path}");
        }
    }

    #[test]
    fn the_menu_marks_one_place_or_none() {
        let marked = |here| {
            menu(here)
                .into_iter()
                .filter(|item| item.current)
                .map(|item| item.href)
                .collect::<Vec<_>>()
        };
        assert_eq!(marked(Place::NewIssue), ["/admin/issues/new"]);
        assert_eq!(marked(Place::Log), ["/admin/audit"]);
        assert!(marked(Place::OwnAccount).is_empty());
        assert!(marked(Place::Elsewhere).is_empty());
    }
}
