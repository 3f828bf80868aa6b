//! The admin's «Hjelp» page (`/admin/hjelp`): the staff guide, `docs/staff-guide.md`,
//! inside the admin's frame for a signed-in staff member, and the login page for
//! anyone else. Over HTTP, and in a real browser at desktop width and at 390 px with
//! axe-core. The page reads no data, so SQLite alone is enough.

use crate::common;

use common::TestDb;
use common::browser::{
    axe_script, browser, check_page_at_both_widths, sign_in_as, start_chromedriver,
};
use common::staff::{StaffClient, http, location, staff_app};

/// The guide's title, its first line.
fn guide_title() -> &'static str {
    include_str!("../../docs/staff-guide.md")
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# "))
        .expect("the guide starts with its title")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_is_shown_to_staff_and_to_nobody_else() {
    let db = TestDb::sqlite().await;
    let app = staff_app(&db).await;

    let signed_out = http()
        .get(format!("{}/admin/hjelp", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    assert_eq!(location(&signed_out), "/admin/login?neste=/admin/hjelp");
    assert!(signed_out.text().await.unwrap().is_empty());

    let kari = StaffClient::log_in(&app.address, "kari").await;
    let page = kari.get_ok("/admin/hjelp").await;
    assert!(
        page.contains(&format!(">{}</h1>", guide_title())),
        "the guide's title as the page's heading: {page}"
    );
    // A heading of the guide, with the id its table of contents links to.
    assert!(
        page.contains(r#"<h2 id="logge-inn">Logge inn</h2>"#),
        "{page}"
    );
    assert!(page.contains(r##"href="#logge-inn""##), "{page}");
    // Inside the admin's frame: the menu and the sign-out button with its token.
    assert!(page.contains("Hovedmeny") && page.contains(r#"action="/admin/logout""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_in_the_browser_at_both_widths() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = staff_app(&db).await;
    let client = browser(&webdriver).await;
    sign_in_as(&client, &app.address, "kari").await;
    client
        .goto(&format!("{}/admin/hjelp", app.address))
        .await
        .unwrap();
    check_page_at_both_widths(&client, &axe, "help", guide_title()).await;
    client.close().await.unwrap();
}
