"""The actions buttons carry (`Button.action` → `Press.action`) and the commands flows answer.

Short names: a channel packs the action and its argument into its own callback
data (Telegram allows 64 bytes). Arguments are ids and small numbers joined by
":", except search phrases, which are kept under `MAX_ARG_BYTES`.
"""

from __future__ import annotations

MAX_ARG_BYTES = 48

MENU = "menu"
CATALOG = "cats"  # arg: page of categories
CATEGORY = "cat"  # arg: "<category id>:<page>": a shelf afresh, with no filters
LIST = "ls"  # arg: "<list id>:<page>": a list the customer browsed (bot/flows/lists.py)
FILTERS = "lsf"  # arg: "<list id>": that list's filter panel
FILTER = "lsx"  # arg: "<list id>:<choice>": change its filters (bot/flows/browse.py reads it)
PRODUCT = "prod"  # arg: "<product id>[:<quantity>[:<list id>]]": the list is where Back goes
ADD = "add"  # arg: "<product id>:<quantity>:<list id>"
BUY_NOW = "buy"  # arg: "<product id>:<quantity>"
NOTIFY = "notify"  # arg: "<product id>:<list id>": tell me when this sold-out product is back
PHOTO = "photo"  # arg: "<product id>:<photo number from 1>:<list id>": the card showing that photo
PHOTOS = "photos"  # arg: "<product id>": every photo of the product, full size
SEARCH = "find"  # arg: a phrase ("" asks for one)
CART = "cart"
CART_SET = "cset"  # arg: "<product id>:<quantity>" (0 removes)
CART_CLEAR = "cclr"
PROMO = "promo"
PROMO_OFFER = "poffer"  # apply the promo code an experiment offers in the cart
CHECKOUT = "co"
CHECKOUT_SAME = "cosame"  # use the details remembered from the last order
CHECKOUT_NEW = "conew"  # type new details
CHECKOUT_ADDRESS = "coaddr"  # arg: "same" (the remembered address) or "new"
DELIVERY = "codlv"  # arg: a delivery option id
CHECKOUT_CANCEL = "cox"
PAY = "pay"  # arg: order id
ORDERS = "orders"
ORDER = "order"  # arg: order id
ORDER_CANCEL = "ocx"  # arg: "<order id>" asks; "<order id>:1" cancels
LANGUAGE = "lang"
SET_LANGUAGE = "setlang"  # arg: "en" or "ru"
HELP = "help"
NOOP = "noop"  # a label (the page counter): pressing it changes nothing

# Commands (`Command.name`), also listed by the Telegram channel.
COMMANDS = ("start", "menu", "catalog", "search", "cart", "orders", "language", "help", "stop")
