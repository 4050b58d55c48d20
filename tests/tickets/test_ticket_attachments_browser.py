"""Files on the ticket page in a real browser: a mail's files listed under its message (and
downloaded), a reply sent with a file chosen in the picker (it leaves by SMTP as multipart and
is listed under the reply)."""

from __future__ import annotations

from playwright.async_api import expect
from test_ticket_attachments import PDF, with_files
from tickets_floor import T, logged_in_page, tickets_floor

MS = T * 1000  # Playwright counts milliseconds


async def test_the_ticket_view_lists_files_and_sends_one_with_a_reply(tmp_path, browser):
    async with tickets_floor(tmp_path, acknowledge=False) as floor:
        await floor.user("alice", "a1")
        message = with_files()
        await floor.send_mail(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        await floor.settled()

        page = await logged_in_page(browser, floor, "alice", accept_downloads=True)
        await page.locator("#tickets tbody tr", has_text="Broken invoice").click()
        files = page.locator("#thread li.customer ul.attachments a")
        await expect(files).to_have_text(["screen shot.png", "invoice _42_.pdf", "invoice.html"],
                                         timeout=MS)
        async with page.expect_download() as info:
            await files.nth(1).click()
        download = await info.value
        assert download.suggested_filename == "invoice _42_.pdf"
        assert (await download.path()).read_bytes() == PDF

        await page.fill("#text", "The corrected invoice is attached.")
        await page.set_input_files("#reply-files", files=[{
            "name": "corrected.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        await expect(page.locator("#reply-files-status")).to_contain_text("corrected.pdf")
        await page.click("#send-reply")
        await expect(page.locator("#thread li.agent ul.attachments a")).to_have_text(
            ["corrected.pdf"], timeout=MS)
        await expect(page.locator("#reply-files-status")).to_have_text("")

        envelope, sent = await floor.relay.next()
        assert envelope.rcpt_tos == ["ann@customer.test", "carl@customer.test"]
        assert sent.get_content_type() == "multipart/mixed"
        (attached,) = list(sent.iter_attachments())
        assert attached.get_filename() == "corrected.pdf"
        assert attached.get_content() == PDF
        await page.context.close()
