"""Fake news articles for the clean-stage tests.

They reproduce the SHAPES seen in real scraped articles (site furniture between
paragraphs, a trailing "Recent Posts" list, an aggregator's "Similar News" teaser block,
a word split across two paragraphs, an article pasted twice, a title line), written from
scratch about an invented town council so no publisher's text is in the repository.
"""

from __future__ import annotations

PROSE = [
    "The council of Lower Brindle voted on Tuesday to rebuild the old harbour bridge, "
    "ending a dispute that has divided the town for nearly a decade.",
    "Mayor Ada Fenwick said the decision was “the only sensible way forward” and promised "
    "that construction would begin before the end of the year.",
    "Opponents had argued that the money should instead go to the town's two schools, "
    "which have both reported leaking roofs and broken heating this winter.",
    "The bridge, built in 1911, was closed to traffic last spring after engineers found "
    "cracks in three of its supporting piers.",
    "Local shop owners said the closure had cut their takings by a third, because "
    "visitors from the northern villages could no longer reach the market square.",
    "The new design keeps the original stone arches but adds a wider deck for cyclists "
    "and a separate walkway for pedestrians.",
]

# Furniture between the paragraphs, one kind per line.
FURNITURE_EN = [
    "Also read | Harbour dredging plan delayed again after storm damage",
    "Read more »",
    "READ MORE: Town hall opening hours to change in spring",
    "Share this story",
    "Click here to get the latest local news",
    "Subscribe now",
    "Sign up for our newsletter",
    "Follow us on Twitter and Facebook",
    "Advertisement",
    "Our Correspondent",
    "By Staff Reporter",
    "Photo: Brindle Gazette archive",
    "(AP Photo/Jane Example)",
    "13 minutes ago",
    "2 hours ago",
]

FURNITURE_OTHER = {
    "fr": ["Lire aussi : Le port de Brindle rouvre ses quais", "Publicité", "il y a 2 heures"],
    "es": ["Lee también: El puente de Brindle, en obras", "Leer más", "hace 3 horas"],
    "de": ["Lesen Sie auch: Neue Brücke für Brindle", "Anzeige", "vor 2 Stunden"],
    "pt": ["Leia também: Ponte de Brindle será reconstruída", "Publicidade", "há 2 horas"],
    "ru": ["Читайте также: Мост в Бриндле отремонтируют", "Реклама", "2 часа назад"],
    "uk": ["Читайте також: Міст у Бріндлі відремонтують", "Реклама", "2 години тому"],
}

PROSE_OTHER = {
    "fr": "Le conseil municipal a voté mardi la reconstruction du vieux pont du port, "
    "mettant fin à un différend qui divisait la ville depuis dix ans.",
    "es": "El ayuntamiento votó el martes reconstruir el viejo puente del puerto, poniendo "
    "fin a una disputa que dividía a la ciudad desde hacía una década.",
    "de": "Der Stadtrat hat am Dienstag beschlossen, die alte Hafenbrücke neu zu bauen, und "
    "damit einen jahrelangen Streit in der Stadt beendet.",
    "pt": "A câmara municipal votou na terça-feira a reconstrução da velha ponte do porto, "
    "pondo fim a uma disputa que dividia a cidade há uma década.",
    "ru": "Городской совет во вторник проголосовал за восстановление старого моста в порту, "
    "положив конец спору, который разделял город почти десять лет.",
    "uk": "Міська рада у вівторок проголосувала за відновлення старого мосту в порту, "
    "поклавши край суперечці, яка розділяла місто майже десять років.",
}

# Seed shape: the article, a byline, then a list of unrelated headlines with stamps.
RECENT_POSTS_TAIL = [
    "Our Correspondent",
    "Recent Posts",
    "Festival Organisers Announce Record Number Of Stalls For Summer Fair",
    "Organisers expect more than two hundred traders to take part this year…",
    "13 minutes ago",
    "Local Football Club Appoints New Manager After Disappointing Season",
    "The club has not won a trophy since the league was reorganised.",
    "41 minutes ago",
    "Rail Operator Promises Fewer Cancellations On The Coast Line",
    "2 hours ago",
]

# Seed shape: an aggregator's teaser block, each teaser glued to its summary.
SIMILAR_NEWS_TAIL = [
    "Brindle Latest News, Brindle Headlines",
    "Similar News:You can also read news stories similar to this one that we have "
    "collected from other news sources.",
    "Harbour bridge vote splits councilThe long-awaited vote on the harbour bridge "
    "exposed deep divisions between the council's two largest parties, with several "
    "members abstaining at the last minute.",
    "Read more »",
    "Schools demand share of bridge fundsHead teachers wrote an open letter asking the "
    "council to reconsider how the money is spent before the budget is finalised.",
    "Read more »",
    "Engineers warn of further cracksA report seen by this newspaper says that two more "
    "piers may need urgent repair before the new deck can be installed.",
    "Read more »",
]

# Seed shape: a sentence broken mid-word across two paragraphs.
SPLIT_WORD = [
    "After months of argument, the council finally voted on Tuesday after the mayor prom",
    "ised that the school roofs would be repaired with money left over from the project.",
]

TITLE_CAPS = "BRINDLE VOTES TO REBUILD ‘HISTORIC’ HARBOUR BRIDGE"
TITLE_CASE = "Brindle Votes To Rebuild Its Historic Harbour Bridge"


def article(*blocks: list[str] | str, sep: str = "\n\n") -> str:
    """Join paragraphs (and lists of paragraphs) the way scraped text arrives."""
    paras: list[str] = []
    for block in blocks:
        paras.extend([block] if isinstance(block, str) else block)
    return sep.join(paras)


def interleave(prose: list[str], furniture: list[str]) -> list[str]:
    """Prose with one furniture line after each paragraph (the "Also read |" shape)."""
    out: list[str] = []
    for i, line in enumerate(furniture):
        out.append(prose[i % len(prose)] + f" ({i})")
        out.append(line)
    out.append(prose[0])
    return out
