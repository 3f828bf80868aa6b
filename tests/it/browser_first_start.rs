//! A new installation's set-up page in a real browser (headless Chromium): the admin
//! leads to «Opprett den første kontoen», a wrong code is said in words at the form,
//! the printed code makes the first account and signs it in, and the dashboard then
//! lists the first steps. The set-up page at desktop width and at 390 px, with
//! axe-core; screenshots go to target/screenshots/.

use crate::common;

use common::TestDb;
use common::browser::{
    assert_accessible, axe_script, browser, check_page_at_both_widths, click, fill, screenshot,
    start_chromedriver, text_of, wait_for_heading,
};
use common::staff::STAFF_PASSWORD;

const HEADING: &str = "Opprett den første kontoen";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_account_is_made_in_the_browser() {
    let Some((_driver, webdriver)) = start_chromedriver() else {
        return;
    };
    let Some(axe) = axe_script() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let app = common::spawn_app_at_own_address(&db, common::test_settings(&db), None).await;
    let code = nyhetsbrev::ops::Staff::new(app.store.clone())
        .first_account_code()
        .await
        .unwrap()
        .expect("a set-up code");
    let client = browser(&webdriver).await;

    client
        .goto(&format!("{}/admin", app.address))
        .await
        .unwrap();
    wait_for_heading(&client, HEADING).await;
    check_page_at_both_widths(&client, &axe, "first-account-01-form", HEADING).await;

    let fill_form = async |code: &str| {
        fill(&client, "code", code).await;
        fill(&client, "username", "kari").await;
        fill(&client, "email", "kari@example.no").await;
        fill(&client, "password", STAFF_PASSWORD).await;
        fill(&client, "repeated", STAFF_PASSWORD).await;
        click(&client, "main button[type=submit]").await;
    };
    fill_form("FEIL-KODE-0000").await;
    wait_for_heading(&client, HEADING).await;
    assert!(
        text_of(&client, "#setup-error")
            .await
            .contains("Engangskoden stemmer ikke")
    );
    check_page_at_both_widths(&client, &axe, "first-account-02-wrong-code", HEADING).await;

    fill_form(&code).await;
    wait_for_heading(&client, "Oversikt").await;
    assert!(
        text_of(&client, "#forste-steg")
            .await
            .contains("Kom i gang")
    );
    screenshot(&client, "first-account-03-first-steps").await;
    let rules = assert_accessible(&client, &axe, "first-account-03-first-steps").await;
    assert!(rules > 20, "axe ran its rules ({rules})");
    client.close().await.unwrap();
}
