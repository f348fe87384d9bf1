"""What the browser tests read from and do to the chat page, in one place: the messages as rendered, a milestone
in the panel, the connection state, typing a line, answering a confirmation. Selenium drives real Chromium."""
from harness import wait
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

RENDERED = """
return Array.from(document.querySelectorAll('#messages li.msg')).map(li => ({
  seq: Number(li.dataset.seq), kind: li.dataset.kind, author: li.dataset.author,
  private: li.dataset.private === 'true', cls: li.className, text: li.querySelector('.text').textContent,
  inner: li.querySelector('.text').innerText, tag: (li.querySelector('.tag') || {}).textContent || '',
  label: li.querySelector('.by').textContent}));
"""


def rendered(driver):
    """Every message shown, in order: seq, kind, author, private, classes, text, label."""
    return driver.execute_script(RENDERED)


def milestone(driver, number):
    """A milestone as the panel shows it (its data attributes and texts), or None."""
    return driver.execute_script(
        "const li = document.querySelector('#milestones li[data-milestone=\"' + arguments[0] + '\"]');"
        "if (!li) return null; const dd = (c) => (li.querySelector('dd.' + c) || {}).textContent || '';"
        "return {state: li.dataset.state, held: Number(li.dataset.held), released: Number(li.dataset.released),"
        " released_text: dd('released'), refunded_text: dd('refunded'), held_text: dd('held'),"
        " deadline: (li.querySelector('.ms-deadline') || {}).textContent || '', text: li.textContent};", number)


def conn_state(driver):
    return driver.find_element(By.ID, "conn").get_attribute("data-state")


def type_line(driver, text, enter=True):
    """Replaces what is in the message box with `text`, and sends it with Enter."""
    box = driver.find_element(By.ID, "composer-input")
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)
    if enter:
        box.send_keys(Keys.ENTER)


def answer_confirm(driver, accept, timeout=10):
    """Accepts or dismisses the page's confirmation; its text, or None when none came."""
    alert = wait(driver, EC.alert_is_present(), timeout)
    if not alert:
        return None
    text = alert.text
    if accept:
        alert.accept()
    else:
        alert.dismiss()
    return text
