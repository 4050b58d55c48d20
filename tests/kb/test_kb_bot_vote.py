"""The chat bot's "yes" is a helpful vote on the articles it offered, as the help center's
button is one: the real server, the shipped bot flow, the visitor's widget protocol."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chat"))

from test_chat_bot import bot_floor, bot_said, start_with_bot
from test_chat_faq import write_articles


async def test_yes_counts_a_helpful_vote_once_per_visitor_and_article(tmp_path):
    async with bot_floor(tmp_path) as floor:
        kb = floor.server.kb.service
        corpus = await write_articles(floor)
        visitor = await start_with_bot(floor)
        await visitor.say("A question")
        await visitor.frame(bot_said("What is your question?"))
        await visitor.say("How do I reset my password?")
        offer = await visitor.frame(lambda f: f["type"] == "bot" and f["articles"])
        offered = [a["id"] for a in offer["articles"]]
        assert offered and set(offered) <= set(corpus.published)
        await visitor.frame(lambda f: f["type"] == "bot" and f["buttons"] == ["Yes", "No"])
        await visitor.say("yes")
        await visitor.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        record = await floor.chat.record(visitor.conversation_id)
        assert record.bot_outcome == "deflected"
        for article_id in offered:
            counts = await kb.feedback_counts(article_id)
            assert (counts.helpful, counts.not_helpful) == (1, 0)

        # The same visitor asks again and says yes again: still one vote per article, as
        # the help center counts one per address.
        again = await start_with_bot(floor)
        await again.say("A question")
        await again.frame(bot_said("What is your question?"))
        await again.say("How do I reset my password?")
        await again.frame(lambda f: f["type"] == "bot" and f["buttons"] == ["Yes", "No"])
        await again.say("Yes")
        await again.frame(lambda f: f["type"] == "state" and f["state"] == "closed")
        for article_id in offered:
            assert (await kb.feedback_counts(article_id)).helpful == 1
        untouched = [a for a in corpus.published if a not in offered] + [corpus.other]
        for article_id in untouched:
            assert (await kb.feedback_counts(article_id)).helpful == 0
