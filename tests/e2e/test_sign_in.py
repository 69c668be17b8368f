"""Signing in and out through the real login form."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_sign_in_lands_on_home_and_sign_out_returns_to_login(site, staff):
    site.sign_in(staff.username)
    page = site.page
    expect(page).to_have_url(site.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Who are you looking for?")
    expect(page.locator(".signout .who")).to_have_text("e2e-staff")
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()


def test_wrong_password_shows_an_error_and_keeps_the_username(site, staff):
    site.sign_in(staff.username, password="not the password")
    page = site.page
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_label("Username")).to_have_value("e2e-staff")
    expect(page.get_by_test_id("sign-out")).to_have_count(0)


def test_a_page_asks_for_sign_in_then_returns_to_it(site, world, staff):
    page = site.page
    site.go("/accounts/CLOUD/5342823/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill("e2e-correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url("/accounts/CLOUD/5342823/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Cloud")
