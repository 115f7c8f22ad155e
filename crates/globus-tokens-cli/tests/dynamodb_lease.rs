//! Concurrent `globus-tokens token` invocations on one `dynamodb:` store renew a stale token
//! once: the store's renewal lease spans processes (and so machines).

use std::process::{Command, Stdio};
use std::time::Duration;

use globus_tokens::dynamodb::{DynamoDbStorage, ItemLayout};
use globus_tokens::{Clock, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::dynamodb_server::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, endpoint};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const CLIENT: &str = "cli-native-client";
const TRANSFER: &str = "transfer.api.globus.org";
const TRANSFER_SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";
const INVOCATIONS: usize = 8;

#[test]
fn concurrent_token_commands_on_dynamodb_renew_once() {
    let auth = FakeAuthServer::start();
    auth.register_native_client(CLIENT);
    auth.set_token_delay(Duration::from_millis(500));
    let home = tempfile::tempdir().unwrap();
    let table = format!(
        "cli-lease-{}-{}",
        std::process::id(),
        SystemClock.now_seconds()
    );
    let store = DynamoDbStorage::builder(&table)
        .endpoint_url(endpoint())
        .region(REGION)
        .static_credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        .layout(ItemLayout::Composite)
        .build()
        .unwrap();
    store.create_table(Default::default()).unwrap();
    let refresh_token = auth.issue_refresh_token(CLIENT, TRANSFER, TRANSFER_SCOPE);
    let stale = TokenData::new(
        TRANSFER,
        TRANSFER_SCOPE,
        "AT-stale",
        SystemClock.now_seconds() - 5,
    )
    .with_refresh_token(refresh_token);
    store
        .store_token_data(&[(TRANSFER.to_owned(), stale)].into())
        .unwrap();

    let encoded = url::form_urlencoded::byte_serialize(endpoint().as_bytes()).collect::<String>();
    let spec = format!("dynamodb:{table}?endpoint={encoded}&layout=composite&lease=5");
    let children: Vec<_> = (0..INVOCATIONS)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_globus-tokens"))
                .args(["--client-id", CLIENT, "--store", &spec, "token", TRANSFER])
                .env("HOME", home.path())
                .env("GLOBUS_SDK_SERVICE_URL_AUTH", auth.base_url())
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
                .env("AWS_REGION", REGION)
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL")
                .env_remove("GLOBUS_CLIENT_ID")
                .env_remove("GLOBUS_CLIENT_SECRET")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let stored = || store.get_token_data(TRANSFER).unwrap().unwrap();
    let mut printed = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        printed.push(String::from_utf8(output.stdout).unwrap().trim().to_owned());
    }
    let renewed = stored();
    assert!(
        printed
            .iter()
            .all(|token| token == renewed.access_token.expose())
    );
    assert!(auth.is_valid_access_token(renewed.access_token.expose()));
    assert_eq!(
        auth.token_requests(),
        1,
        "one renewal for {INVOCATIONS} invocations"
    );
}
