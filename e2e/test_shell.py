from playwright.sync_api import Page, expect

from testkit.browser import ConsoleErrors


def test_the_page_opens_with_its_title(page: Page, console_errors: ConsoleErrors) -> None:
    response = page.goto("/")
    assert response is not None and response.ok
    expect(page).to_have_title("Calcapp")
    expect(page.get_by_role("heading", name="Calcapp")).to_be_visible()
