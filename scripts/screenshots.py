"""Take the screenshots in docs/screenshots/ (phone 360x800 and desktop, light and dark, and
each in the scientific mode).

.venv/bin/python -m scripts.screenshots
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from testkit.support import calcapp_env, chromium_executable, running_server

ROOT = Path(__file__).resolve().parent.parent


OUT = ROOT / "docs" / "screenshots"
VIEWS = {
    "phone": {
        "viewport": {"width": 360, "height": 800},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}


def calculate(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Expression")
    box.click()
    page.keyboard.press("Escape")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        env = calcapp_env(CALCAPP_DATA_DIR=folder, CALCAPP_LOG_LEVEL="WARNING")
        with running_server(env) as (base_url, _), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_executable())
            for view, options in VIEWS.items():
                for scheme in ("light", "dark"):
                    context = browser.new_context(**options, color_scheme=scheme)  # type: ignore[arg-type]
                    page = context.new_page()
                    page.goto(base_url)
                    for text in ("0.1+0.2", "200+10%", "1/3", "6/2(1+2)"):
                        calculate(page, text)
                    page.screenshot(path=OUT / f"{view}-{scheme}.png")
                    print(f"{view}-{scheme}.png")
                    if scheme == "light":  # the scientific mode, once per view
                        page.get_by_role("switch", name="Scientific").click()
                        for text in ("sqrt(2)^2", "sin(30)+2^10"):
                            calculate(page, text)
                        page.screenshot(path=OUT / f"{view}-scientific.png")
                        print(f"{view}-scientific.png")
                    context.close()
            browser.close()


if __name__ == "__main__":
    main()
