"""In Chromium, on a shop's page of another origin: the widget offers knowledge-base articles
before a person ("This answered my question" ends the chat self-served; "Talk to a person"
queues it to the agent's panel with the question), and its Help tab searches the articles
by keyboard, without a chat; every request goes to the shop or to our server only."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Page, expect
from test_chat_browser import T, agent_page, stage, visitor_page
from test_chat_faq import KB, write_articles

from contactcenter.chat.settings import FaqSettings, PrechatField

FAQ = {"faq": FaqSettings(enabled=True)}


async def fill_form(visitor: Page) -> None:
    await visitor.click("#cc-chat .bubble")
    await visitor.fill("#cc-chat #cc-f-name", "Vera")
    await visitor.fill("#cc-chat #cc-f-email", "vera@example.com")
    await visitor.click("#cc-chat button.start")


async def ask(visitor: Page, question: str) -> None:
    widget = visitor.locator("#cc-chat")
    await expect(widget.locator(".msg.system.faq-ask")).to_have_text("What is your question?",
                                                                     timeout=T)
    await widget.locator(".input").fill(question)
    await widget.locator(".input").press("Enter")


async def test_an_article_answers_the_question_and_the_chat_ends_self_served(browser, tmp_path):
    async with stage(tmp_path, channel=FAQ, kb=KB) as st:
        floor = st.floor
        corpus = await write_articles(floor)
        visitor = await visitor_page(browser, st.site + "/")
        hosts: set[str] = set()
        visitor.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
        await fill_form(visitor)
        await ask(visitor, "How do I reset my password?")
        widget = visitor.locator("#cc-chat")
        articles = widget.locator(".faq-article")
        await expect(articles.first).to_be_visible(timeout=T)
        assert 1 <= await articles.count() <= 3
        ids = [int(await articles.nth(i).get_attribute("data-article") or 0)
               for i in range(await articles.count())]
        assert set(ids) <= set(corpus.published)
        link = articles.first.locator("a")
        await expect(link).to_have_text("Reset your password")
        await expect(link).to_have_attribute("href",
                                             st.proxy.url + "/help/en/reset-your-password")
        await expect(link).to_have_attribute("target", "_blank")
        await expect(articles.first.locator(".snippet mark").first).to_have_text("password")
        assert await floor.chat.store.open_conversations() == []  # nothing started yet

        # The link opens the help center's article on our server, in a new tab.
        async with visitor.context.expect_page() as opened:
            await link.click()
        article_page = await opened.value
        await article_page.wait_for_load_state()
        assert article_page.url == st.proxy.url + "/help/en/reset-your-password"
        await expect(article_page.locator("h1")).to_contain_text("Reset your password",
                                                                 timeout=T)
        await article_page.close()

        await articles.first.locator("button.faq-answered").click()
        thanks = widget.locator(".faq-thanks[role=status]")
        await expect(thanks).to_have_text("Glad we could help. The chat is closed.", timeout=T)
        await expect(widget.locator("button.again")).to_be_visible()
        await expect(widget.locator(".foot")).to_be_hidden()
        assert floor.chat.metrics()["counters"] == {"self_served": 1}
        assert await floor.chat.store.open_conversations() == []
        kb = floor.server.kb.service
        assert (await kb.feedback_counts(ids[0])).helpful == 1
        assert hosts <= {urlsplit(st.site).netloc, urlsplit(st.proxy.url).netloc}


async def test_talk_to_a_person_brings_the_question_to_the_agent(browser, tmp_path):
    async with stage(tmp_path, channel=FAQ, kb=KB) as st:
        floor = st.floor
        await write_articles(floor)
        alice = await agent_page(browser, floor, "alice", "a1")
        visitor = await visitor_page(browser, st.site + "/")
        await fill_form(visitor)
        await ask(visitor, "password")
        widget = visitor.locator("#cc-chat")
        await expect(widget.locator(".faq-article").first).to_be_visible(timeout=T)
        await widget.locator("button.faq-person").click()

        log = widget.locator(".log")
        await expect(log.locator(".msg.visitor[data-seq='1']")).to_have_text("password",
                                                                             timeout=T)
        await expect(log.locator(".msg.system").first).to_contain_text(
            "Articles suggested before the chat:", timeout=T)
        await expect(widget.locator(".faq-article").first).to_be_visible()  # still readable
        await expect(widget.locator("button.faq-answered")).to_have_count(0)
        (conv,) = [r for r, _ in await floor.chat.store.open_conversations()]
        assert conv.faq_outcome == "person"
        card = alice.locator(f".chat-card[data-conversation='{conv.id}']")
        await expect(card).to_be_visible(timeout=T)
        await card.locator(".chat-accept").click()
        await expect(card.locator(".chat-msg.chat-from-visitor")).to_contain_text("password",
                                                                                 timeout=T)
        await expect(log.locator(".msg.system").last).to_have_text("Alice joined the chat.",
                                                                   timeout=T)


async def test_the_help_tab_searches_articles_by_keyboard_without_a_chat(browser, tmp_path):
    async with stage(tmp_path, channel=FAQ, kb=KB) as st:
        floor = st.floor
        corpus = await write_articles(floor)
        visitor = await visitor_page(browser, st.site + "/")
        widget = visitor.locator("#cc-chat")
        await expect(widget.locator(".bubble")).to_be_visible(timeout=T)
        await widget.locator(".bubble").focus()
        await visitor.keyboard.press("Enter")
        await expect(widget.locator("#cc-f-name")).to_be_focused(timeout=T)
        await visitor.keyboard.press("Shift+Tab")  # from the form up to the selected tab
        chat_tab = widget.locator("[role=tab].tab-chat")
        help_tab = widget.locator("[role=tab].tab-help")
        await expect(chat_tab).to_be_focused()
        await expect(chat_tab).to_have_attribute("aria-selected", "true")
        await visitor.keyboard.press("ArrowRight")
        await expect(help_tab).to_be_focused()
        await expect(help_tab).to_have_attribute("aria-selected", "true")
        await expect(widget.locator("#cc-pane-help")).to_be_visible()
        await expect(widget.locator("#cc-pane-chat")).to_be_hidden()
        await visitor.keyboard.press("Tab")
        search = widget.locator("#cc-help-q")
        await expect(search).to_be_focused()
        await visitor.keyboard.type("password")
        await visitor.keyboard.press("Enter")
        status = widget.locator(".help-status[role=status]")
        await expect(status).to_have_text("4 article(s) found.", timeout=T)
        results = widget.locator(".help-article")
        ids = {int(await results.nth(i).get_attribute("data-article") or 0)
               for i in range(await results.count())}
        assert ids == set(corpus.published)
        await search.fill("giraffe")
        await visitor.keyboard.press("Enter")
        await expect(status).to_have_text("No article found.", timeout=T)
        await expect(results).to_have_count(0)
        await visitor.keyboard.press("Escape")
        await expect(widget.locator(".panel")).to_be_hidden()
        assert await floor.chat.store.open_conversations() == []


async def test_a_question_in_the_prechat_form_brings_the_articles_at_once(browser, tmp_path):
    fields = [PrechatField(name="name", label="Your name", required=True),
              PrechatField(name="question", label="Your question", type="textarea",
                           required=True)]
    channel = {"prechat": fields, "rules": [],
               "faq": FaqSettings(enabled=True, max_articles=2, question_field="question",
                                  help_tab=False)}
    async with stage(tmp_path, channel=channel, kb=KB) as st:
        await write_articles(st.floor)
        visitor = await visitor_page(browser, st.site + "/")
        widget = visitor.locator("#cc-chat")
        await visitor.click("#cc-chat .bubble")
        await visitor.fill("#cc-chat #cc-f-name", "Vera")
        await visitor.fill("#cc-chat #cc-f-question", "password rules please")
        await visitor.click("#cc-chat button.start")
        await expect(widget.locator(".msg.visitor.faq-q")).to_have_text("password rules please",
                                                                        timeout=T)
        await expect(widget.locator(".faq-intro")).to_be_focused(timeout=T)
        await expect(widget.locator(".faq-article")).to_have_count(2)  # max_articles
        await expect(widget.locator(".faq-article a").first).to_have_text("Password rules")
        await expect(widget.locator("[role=tab]")).to_have_count(0)  # help_tab: false
        await widget.locator("button.faq-person").click()
        first = widget.locator(".log .msg.visitor[data-seq='1']")  # stored, from the server
        await expect(first).to_have_text("password rules please", timeout=T)
        (conv,) = [r for r, _ in await st.floor.chat.store.open_conversations()]
        assert (conv.faq_outcome, conv.state.value) == ("person", "waiting")
        assert st.floor.chat.metrics()["counters"]["faq_person"] == 1
