from playwright.sync_api import Page, expect


def test_the_page_opens_with_its_title(page: Page, console_errors: list[str]) -> None:
    response = page.goto("/")
    assert response is not None and response.ok
    expect(page).to_have_title("Calcapp")
    expect(page.get_by_role("heading", name="Calcapp")).to_be_visible()
    assert console_errors == []
