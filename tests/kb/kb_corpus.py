"""A small help center and the questions people ask it: the relevance set of the search tests.

Each query lists the articles a person asking it would want; a search passes a query when one
of them is among its first three hits (recall@3). The queries are written as customers type
them: whole questions with stop words, other forms of the articles' words (stemming), typos,
and a few with the search syntax (phrases, exclusions, or).
"""

from __future__ import annotations

# key, title, tags, body (markdown)
ARTICLES: list[tuple[str, str, tuple[str, ...], str]] = [
    ("password", "Resetting your password", ("account", "login"),
     ("Forgot your password? Open **Settings > Security** and choose *Reset password*. We send "
     "a reset link by email; it works for 30 minutes. Passwords need at least 12 characters.")),
    ("2fa", "Two-factor authentication", ("account", "security"),
     ("Protect your account with a second step at login: a code from an authenticator app or "
     "a text message. Turn it on under Settings > Security. Keep your backup codes safe.")),
    ("email-change", "Changing the email address on your account", ("account",),
     ("To change the email address we write to, open your profile and edit the address. We "
     "confirm the new address with a verification message before switching.")),
    ("close-account", "Closing your account", ("account",),
     ("You can delete your account at any time. Cancel active subscriptions first, download "
     "your invoices, then ask for deletion. Your data is erased within 30 days.")),
    ("refund", "Refund policy", ("billing", "refund"),
     ("Refunds are paid to the card used for the purchase within 14 days. Digital goods "
     "are refundable if not downloaded. Ask for a refund from your order history.")),
    ("invoice", "Downloading invoices", ("billing",),
     ("Every payment has an invoice. Open Billing > Invoices to download a PDF, or have each "
     "invoice emailed to your accountant automatically.")),
    ("payment-methods", "Accepted payment methods", ("billing",),
     ("We accept Visa, Mastercard, American Express, PayPal and bank transfer (SEPA). Cards "
     "are charged when the order ships.")),
    ("card-declined", "Why was my card declined?", ("billing", "payment"),
     ("A declined card usually means insufficient funds, an expired card, or a bank blocking "
     "online purchases abroad. Check the expiry date, then call your bank.")),
    ("shipping-times", "Delivery times", ("shipping",),
     ("Standard delivery takes 3 to 5 working days, express delivery 1 to 2 days. Orders "
     "placed before 2 pm ship the same day.")),
    ("track-order", "Tracking your parcel", ("shipping", "orders"),
     ("When your order ships we email a tracking number. Follow the parcel on the carrier's "
     "site, or under Orders > Track in your account.")),
    ("international", "Shipping abroad", ("shipping",),
     ("We ship to 40 countries. Customs duties and import taxes are paid by the recipient; "
     "delivery abroad takes 5 to 10 working days.")),
    ("returns", "Returning an item", ("returns", "orders"),
     ("You have 30 days to send an item back. Print the prepaid return label from your order "
     "and drop the package at any post office. Returns are free.")),
    ("damaged", "My item arrived damaged", ("returns", "orders"),
     ("Sorry! Take a photo of the broken item and the packaging, and send it to us within 7 "
     "days. We ship a replacement at no cost.")),
    ("cancel-order", "Cancelling an order", ("orders",),
     ("An order can be cancelled until it ships: open Orders, pick the order and press "
     "Cancel. After shipping, return it instead.")),
    ("wifi", "Wi-Fi router setup", ("internet", "router"),
     ("Plug the router into the fibre box, wait for the light to turn green, then connect to "
     "the network name printed under the router with its key.")),
    ("slow-internet", "Slow internet connection", ("internet",),
     ("If your connection is slow, restart the router, move it away from walls, and run a "
     "speed test with a cable. Bandwidth drops when many devices stream at once.")),
    ("voicemail", "Setting up voicemail", ("phone",),
     ("Dial 123 from your mobile to reach voicemail. Record a greeting and choose a PIN so "
     "you can listen to messages from another phone.")),
    ("roaming", "Using your phone abroad (roaming)", ("phone", "travel"),
     ("Roaming is included in the EU. Elsewhere, buy a travel pass before you leave to avoid "
     "high charges for calls and mobile data.")),
    ("sim-lost", "Lost or stolen SIM card", ("phone", "security"),
     ("Block your SIM immediately by calling us or in the app. We send a replacement SIM "
     "with the same number in two days.")),
    ("port-number", "Keeping your number when switching", ("phone",),
     ("To bring your phone number from another operator, ask them for the transfer code "
     "(RIO) and give it to us when you subscribe. Porting takes one working day.")),
    ("opening-hours", "Customer service opening hours", ("contact",),
     ("Our agents answer calls Monday to Friday, 8 am to 8 pm, and Saturday 9 am to 5 pm. "
     "Chat is open every day until 10 pm.")),
    ("callback", "Asking for a callback", ("contact",),
     ("Do not want to wait on hold? Choose the callback option in the phone menu and we "
     "will call you back when an agent is free, keeping your place in line.")),
    ("privacy", "How we use your personal data", ("privacy",),
     ("We process personal data only to deliver our service, under the GDPR. You can ask "
     "for a copy of your data or its correction at any time.")),
    ("gift-card", "Gift cards", ("billing",),
     ("Gift cards are valid for one year and can pay for any order. Enter the code at "
     "checkout; the remaining balance stays on the card.")),
    ("loyalty", "Loyalty points", ("billing",),
     ("Each euro spent earns one point. 100 points give a 5 euro voucher. Points expire "
     "after 24 months without a purchase.")),
]

# query, the articles that answer it
QUERIES: list[tuple[str, set[str]]] = [
    ("how do I reset my password", {"password"}),
    ("forgot password", {"password"}),
    ("pasword reset", {"password"}),
    ("two factor authentication", {"2fa"}),
    ("authenticator app code", {"2fa"}),
    ("backup codes", {"2fa"}),
    ("change my email", {"email-change"}),
    ("verification of new address", {"email-change"}),
    ("delete account", {"close-account"}),
    ("how to close my account", {"close-account"}),
    ("refund", {"refund"}),
    ("when do I get my money refunded", {"refund"}),
    ("refnud", {"refund"}),
    ("download invoice pdf", {"invoice"}),
    ("invoices for my accountant", {"invoice"}),
    ("do you take paypal", {"payment-methods"}),
    ("bank transfer sepa", {"payment-methods"}),
    ("card declined", {"card-declined"}),
    ("my card was refused by the bank", {"card-declined"}),
    ("expired card", {"card-declined"}),
    ("how long does delivery take", {"shipping-times", "international"}),
    ("express delivery", {"shipping-times"}),
    ("where is my parcel", {"track-order"}),
    ("tracking number", {"track-order"}),
    ("customs duties", {"international"}),
    ("do you ship to other countries", {"international"}),
    ("return an item", {"returns"}),
    ("prepaid return label", {"returns"}),
    ("item arrived broken", {"damaged"}),
    ("damaged package", {"damaged", "returns"}),
    ("cancel my order", {"cancel-order"}),
    ("cancelling", {"cancel-order"}),
    ("router setup", {"wifi"}),
    ("wifi network key", {"wifi"}),
    ("internet is slow", {"slow-internet"}),
    ("speed test", {"slow-internet"}),
    ("voicemail pin", {"voicemail"}),
    ("record a greeting", {"voicemail"}),
    ("roaming charges", {"roaming"}),
    ("travel pass mobile data abroad", {"roaming"}),
    ("stolen sim", {"sim-lost"}),
    ("block my sim card", {"sim-lost"}),
    ("keep my phone number", {"port-number"}),
    ("transfer code rio", {"port-number"}),
    ("opening hours", {"opening-hours"}),
    ("are you open on saturday", {"opening-hours"}),
    ("call me back", {"callback"}),
    ("callback", {"callback"}),
    ("gdpr personal data", {"privacy"}),
    ("copy of my data", {"privacy"}),
    ("gift card balance", {"gift-card"}),
    ("loyalty points expire", {"loyalty"}),
    ('"reset link"', {"password"}),
    ("delivery -express", {"international"}),
    ("voucher or giftcard", {"loyalty", "gift-card"}),
]
