"""Swedish narrative for the reports, with the figures woven in.

Every function here takes figures that the model has already computed (kronor,
shares, counts) and returns Swedish prose in Markdown; nothing is computed but
wording and simple comparisons (larger or smaller, which is the largest). The
wording follows the source documents ("Ekonomistyrning för
verksamhetsuppdrag", version 1.0, and the decision memo to Social- och
omsorgsnämnden) where they have it.

Amounts in running text are written by :func:`belopp`: millions of kronor with
one decimal from 1 mnkr, thousands of kronor from 10 tkr, else whole kronor;
always with the Swedish typography of :mod:`vu_lib.fmt` (decimal comma,
no-break space, true minus sign).
"""
from __future__ import annotations

from typing import Iterable, Sequence

from vu_lib.report import fmt

# --------------------------------------------------------------------------- words
FORM_TEXT = {
    "prisbilaga": (
        "Leanlinks ersättning för tjänsterna respektive för uppdraget består till viss del av "
        "timersättning och till viss del av fast ersättning. Fördelning och belopp framgår av "
        "Prisbilaga område {omrade} till verksamhetsuppdraget."
    ),
    "fast_vardboende": (
        "Leanlinks ersättning för uppdraget består till största del av en fast ersättning. Med "
        "referenskostnad menas ett genomsnittligt dygnspris där samtliga kostnader räknas in och "
        "Leanlinks budget är i balans."
    ),
    "fast_heldygn": (
        "Ersättningen för heldygnsverksamheten består av en fast ersättning. För att underlätta "
        "uppföljningen är uppdraget indelat i kluster: {kluster}."
    ),
    "fast": "Leanlinks ersättning för uppdraget består av en fast årlig ersättning.",
    "schablon_an": (
        "Leanlinks ersättning för uppdraget består av en fast årlig ersättning. Antal årsarbetare "
        "samt typ av verksamhet styr den ekonomiska fördelningen: värderingen av en årsarbetare "
        "görs med en faktor mellan olika utbildningsnivåer, som ger en schablonkostnad per "
        "årsarbetare där övriga kostnader och overheadkostnad ingår."
    ),
    "schablon_son": (
        "Ersättningen för detta verksamhetsuppdrag består av fast och rörlig ersättning. Antalet "
        "årsarbetare omräknat i timmar styr fördelningen i relation till volymnyckeltalen; "
        "schablonkostnaden för en årsarbetare sätts utifrån klusterindelning och "
        "verksamhetsuppdrag, och övriga kostnader samt overheadkostnad ingår. För att kunna följa "
        "upp ersättningsnivån följs volymmåtten upp per område: {kluster}."
    ),
}

METHOD_NAMES = {"profil": "fjolårets månadsprofil", "arstakt": "årstakt"}

CHANGE_WORDS = {
    "volymforandring": "volymförändring",
    "ambitionsforandring": "ambitionsförändring",
    "uppdragsforandring": "uppdragsförändring",
    "effektiviseringskrav": "effektiviseringskrav",
    "separat": "separat reglerad förändring",
}


# --------------------------------------------------------------------------- small helpers
def belopp(x, *, sign: bool = False) -> str:
    """An amount in kronor for running text: mnkr from 1 mnkr, tkr from 10 tkr, else kr.

    >>> belopp(217559969)
    '217,6\\xa0mnkr'
    """
    if fmt.is_missing(x):
        return fmt.num(x)
    a = abs(float(x))
    if a >= 1_000_000:
        return fmt.mnkr(x, 1, sign=sign)
    if a >= 10_000:
        return fmt.tkr(x, sign=sign)
    return fmt.kr(x, sign=sign)


def lista(items: Sequence[str], conj: str = "och") -> str:
    """Swedish enumeration: ``'a, b och c'``."""
    items = [str(i) for i in items if str(i)]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _gemen(s: str) -> str:
    """First letter in lower case unless the first word is an acronym or a name-like code (``'LSS'``)."""
    w = s.split(" ", 1)[0]
    if len(w) > 1 and w[:2].isupper():
        return s
    return s[:1].lower() + s[1:]


def forsta_versal(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def over_under(x, noun_plus: str = "överskott", noun_minus: str = "underskott") -> str:
    """``'ett överskott på 1,2 mnkr'`` / ``'ett underskott på 3,5 mnkr'`` / ``'ett nollresultat'``."""
    if fmt.is_missing(x):
        return "ett resultat som inte kan beräknas"
    if round(float(x)) == 0:
        return "ett resultat i balans"
    if float(x) > 0:
        return f"ett {noun_plus} på {belopp(x)}"
    return f"ett {noun_minus} på {belopp(-float(x))}"


# --------------------------------------------------------------------------- title and trace
def sparbarhet(modellversion: str, period: str, data_fingerprint: str, datakalla: str,
               params_fingerprint: str, kodversion: str) -> str:
    """The trace line printed in every report (the code version in a form nbval can sanitize)."""
    return (
        f"Beräknad med modellversion {modellversion} för perioden {period}, "
        f"data {data_fingerprint} ({datakalla}), parametrar {params_fingerprint} "
        f"och kodversion {kodversion}."
    )


# --------------------------------------------------------------------------- compensation
def ersattningsform(form: str, *, omrade: int | None = None, niva1: str = "", schablon: str | None = None,
                    kluster: Sequence[str] = ()) -> str:
    """How a VU is compensated, in the source document's words."""
    if form == "prisbilaga":
        return FORM_TEXT["prisbilaga"].format(omrade=omrade)
    if schablon == "an":
        return FORM_TEXT["schablon_an"]
    if schablon == "son":
        return FORM_TEXT["schablon_son"].format(kluster=lista([k.lower() for k in kluster]))
    if niva1 == "Vårdboende":
        return FORM_TEXT["fast_vardboende"]
    if niva1 == "Heldygn":
        return FORM_TEXT["fast_heldygn"].format(kluster=lista([k.lower() for k in kluster]))
    return FORM_TEXT["fast"]


def index_mening(year: int, index: float, lon: float | None = None, pris: float | None = None,
                 vikt_lon: float | None = None, ks_index: float | None = None) -> str:
    """``'Kommunstyrelsens vägda prisindex för 2026 är 2,72 % (80 % löneökning 3,10 % och 20 % prisökning 1,20 %).'``"""
    head = f"Kommunstyrelsens vägda prisindex för {year} är {fmt.pct(index, 2)}"
    if ks_index is not None or lon is None:
        return head + ", fastställt av Kommunstyrelsen."
    return (
        head + f" ({fmt.pct(vikt_lon, 0)} löneökning {fmt.pct(lon, 2)} och "
        f"{fmt.pct(1 - vikt_lon, 0)} prisökning {fmt.pct(pris, 2)})."
    )


def fast_ersattning(year: int, F: int, *, F_prev: int | None, index: float | None, indexering: int | None,
                    forandringar: Iterable[dict] = (), forsta_aret: bool = False, separat: bool = False) -> str:
    """The sentence on the year's fixed compensation and where it comes from.

    ``forandringar``: dicts with ``typ``, ``belopp`` (signed kr), ``beskrivning``
    and optionally ``giltig_fran`` ('YYYY-MM') and ``version``.
    """
    changes = list(forandringar)
    if forsta_aret:
        return (f"Den fasta ersättningen för {year} är {belopp(F)}. {year} är modellens första år, "
                "så ersättningen är fastställd direkt och inte uppräknad från ett föregående år.")
    if separat:
        return (f"Ersättningen för {year} är {belopp(F)} (föregående år {belopp(F_prev)}); omfattning och "
                "ersättning regleras separat varje år.")
    text = (f"Den fasta ersättningen för {year} är {belopp(F)}, vilket är föregående års {belopp(F_prev)} "
            f"uppräknat med Kommunstyrelsens index {fmt.pct(index, 2)} ({belopp(indexering, sign=True)})")
    if not changes:
        return text + " utan några förändringar i uppdraget."
    parts = []
    later = []
    for c in changes:
        word = CHANGE_WORDS.get(c["typ"], c["typ"])
        desc = f" ({_gemen(c['beskrivning'])})" if c.get("beskrivning") else ""
        piece = f"{word} {belopp(c['belopp'], sign=True)}{desc}"
        if c.get("giltig_fran"):
            later.append((c, piece))
        else:
            parts.append(piece)
    if parts:
        text += " och justerat för " + lista(parts)
    text += "."
    for c, piece in later:
        y, m = c["giltig_fran"].split("-")
        version = f" i modellversion {c['version']}" if c.get("version") else ""
        text += (f" Från {fmt.month_name(int(m))} {y}{version} tillkommer {piece}; den delen betalas ut "
                 f"jämnt över årets återstående månader.")
    return text


def rorlig_ersattning_saknas(vu_namn: str) -> str:
    return (f"{vu_namn} har ingen rörlig ersättning: hela ersättningen är fast och betalas ut med en "
            "tolftedel per månad. Det finns därför inga timpriser eller volympriser att redovisa.")


def rorliga_priser(year: int, priser: Iterable[dict], *, prisbilaga: int | None = None) -> str:
    """The rates of the year: dicts with ``namn``, ``enhet``, ``pris`` (kr), ``pris_fjol`` (kr or None),
    and optional ``revision`` dicts ``{'pris', 'giltig_fran', 'version'}``."""
    rows = list(priser)
    if not rows:
        return ""
    src = f"enligt Prisbilaga område {prisbilaga} " if prisbilaga else ""
    parts = [f"{fmt.kr(r['pris'], 2)} per {r['enhet']} för {r['namn'].lower()}" for r in rows]
    text = (f"Den rörliga ersättningen är verklig volym gånger ett fastställt pris som räknas upp årligen "
            f"med Kommunstyrelsens index. Priserna {src}för {year} är {lista(parts)}.")
    for r in rows:
        rev = r.get("revision")
        if rev:
            y, m = rev["giltig_fran"].split("-")
            text += (f" Från {fmt.month_name(int(m))} {y} (modellversion {rev['version']}) gäller "
                     f"{fmt.kr(rev['pris'], 2)} per {r['enhet']} för {r['namn'].lower()}.")
    return text


def rorlig_exempel(namn: str, year: int, pris_fjol, index, pris) -> str:
    """A rate indexed in öre: ``R_Y = round_öre(R_{Y-1} × (1 + i_Y))``."""
    return (f"Exempel: priset för {namn.lower()} {year - 1} var {fmt.kr(pris_fjol, 2)}; uppräknat med "
            f"{fmt.pct(index, 2)} blir det {fmt.num(pris_fjol, 2)} × (1 + {fmt.num(float(index), 4)}) = "
            f"{fmt.kr(pris, 2)} för {year}, avrundat till hela ören.")


# --------------------------------------------------------------------------- transfers
def overforingar(vu_namn: str, period_text: str, total, fast, rorlig, medel, avvikande: Sequence[dict],
                 avrundning: tuple[int, float, float] = (0, 0.0, 1.0)) -> str:
    """Monthly transfers and the reconciliation with SoF's bookings.

    ``avvikande``: dicts with ``period`` ('YYYY-MM') and ``skillnad`` (kr, booked − computed), the real
    differences; ``avrundning``: (months differing by rounding only, the largest such difference, the tolerance).
    """
    n_rnd, max_rnd, tol = avrundning
    rnd = ""
    if n_rnd:
        rnd = (f" I {'en månad' if n_rnd == 1 else f'{n_rnd} månader'} skiljer bokföringen med högst "
               f"{fmt.kr(max_rnd, 2)}, inom toleransen {fmt.kr(tol, 2)}: det är avrundning av tolftedelen, "
               "inte en avvikelse.")
    text = (f"Ersättningen förs över från Social- och omsorgsförvaltningen till Leanlink varje månad: "
            f"en tolftedel av den fasta ersättningen plus den rörliga ersättningen för månadens "
            f"verkliga volym och eventuella förändringar av medel. För {period_text} är överföringarna "
            f"enligt modellen {belopp(total)}, varav fast ersättning {belopp(fast)}")
    extra = []
    if rorlig:
        extra.append(f"rörlig ersättning {belopp(rorlig)}")
    if medel:
        extra.append(f"förändring av medel {belopp(medel)}")
    text += (", " + lista(extra) if extra else "") + "."
    if not avvikande:
        if n_rnd:
            return text + " SoF:s bokförda köp av verksamhet stämmer med modellens överföring." + rnd
        return text + (" SoF:s bokförda köp av verksamhet stämmer med modellens överföring till öret "
                       "varje månad.")
    diffs = [f"{fmt.period_label(d['period'])} ({fmt.kr(d['skillnad'], 2, sign=True)})" for d in avvikande]
    n = len(avvikande)
    text += (f" SoF:s bokföring avviker från modellens överföring {'i en månad' if n == 1 else f'i {n} månader'}: "
             f"{lista(diffs)}. Ett positivt belopp betyder att SoF har bokfört mer än modellen ger.")
    net = sum(float(d["skillnad"]) for d in avvikande)
    if round(net, 2) == 0 and n > 1:
        text += " Avvikelserna tar ut varandra över perioden, vilket tyder på en periodiseringsskillnad."
    return text + rnd


# --------------------------------------------------------------------------- results
def resultat(vu_namn: str, period_text: str, intakter, kostnad, res, ersattning, medel, ovrig) -> str:
    text = f"Under {period_text} har Leanlink fått {belopp(ersattning)} i ersättning för uppdraget"
    extra = []
    if medel:
        extra.append(f"{belopp(medel)} i förändring av medel")
    if ovrig:
        extra.append(f"{belopp(ovrig)} i övriga intäkter")
    if extra:
        text += " samt " + lista(extra) + f", sammanlagt {belopp(intakter)} i intäkter"
    text += (f". Kostnaderna är {belopp(kostnad)}, vilket ger {over_under(res)} hittills i år"
             f" ({fmt.pct(res / intakter, 1, sign=True) if intakter else fmt.num(None)} av intäkterna).")
    return text


def prognos(year: int, manad: int, arstakt, profil, skillnad, notering: str = "", F=None) -> str:
    text = (f"Helårsprognosen för {year} görs med två metoder. Med årstakt (utfallet hittills "
            f"uppräknat till tolv månader, med den fasta ersättningen för hela året) blir resultatet "
            f"{over_under(arstakt)}.")
    if fmt.is_missing(profil):
        text += (" Metoden med fjolårets månadsprofil kan inte användas: "
                 f"{notering or 'fjolårets utfall saknas'}.")
        return text
    text += (f" Med fjolårets månadsprofil (utfallet hittills delat med den andel av fjolårets belopp "
             f"som föll i januari–{fmt.month_name(manad)}) blir resultatet {over_under(profil)}.")
    text += f" Skillnaden mellan metoderna är {belopp(skillnad, sign=True)}"
    if abs(float(skillnad)) >= 0.5 * max(abs(float(arstakt)), abs(float(profil)), 1):
        text += ", vilket visar att kostnaderna inte fördelar sig jämnt över året; prognosen är osäker."
    else:
        text += "."
    if notering:
        text += f" Notering: {notering}."
    return text


def prognos_vald(year: int, prognos, metod: str, motivering: str, alternativ, lag, hog, *, reserv: bool = False,
                 notering: str = "") -> str:
    """The report's one prognosis: which method, why, and the other method as the range."""
    other = "arstakt" if metod == "profil" else "profil"
    text = f"Rapportens helårsprognos för {year} är {over_under(prognos)}, beräknad med {METHOD_NAMES[metod]}"
    if reserv:
        text += f" eftersom {METHOD_NAMES[other]}, som är vald för uppdraget, inte kan användas"
        if notering:
            text += f" ({_gemen(notering)})"
        text += "."
    else:
        text += f", som är vald för uppdraget eftersom {motivering}."
    if not fmt.is_missing(alternativ):
        text += (f" Med {METHOD_NAMES[other]} blir resultatet {over_under(alternativ)}; prognosen anges därför "
                 f"med intervallet {fmt.mnkr(lag, 1, sign=True)} till {fmt.mnkr(hog, 1, sign=True)}.")
    text += (" Årstakt: utfallet hittills uppräknat till tolv månader, med den fasta ersättningen för hela året. "
             "Fjolårets månadsprofil: utfallet hittills delat med den andel av fjolårets belopp som föll under "
             "samma månader.")
    return text


def avvikelse_prisbilaga(fast_del, pris) -> str:
    """How the price annex's fixed part enters the budgeted cost, and what that means for the result."""
    return (f"Den budgeterade kostnaden är budgeterade timmar × timpris plus prisbilagans fasta del "
            f"({belopp(fast_del)} hittills i år), fördelad på klustren efter budgeterad timersättning. "
            f"Volymeffekten motsvaras av timersättningen, så det är pris- och effektivitetseffekten "
            f"({belopp(pris, sign=True)}) som driver resultatet.")


def avvikelse_saknas(vu_namn: str) -> str:
    return (f"För {vu_namn} finns inget volymmått med budgeterad volym och budgetpris, så avvikelsen "
            "mellan kostnad och ersättning kan inte delas upp i volymeffekt och pris- och "
            "effektivitetseffekt. Uppdraget följs i stället upp med nyckeltalen nedan.")


def avvikelse(metod_text: str, period_text: str, avv, volym, pris, storst: dict | None = None) -> str:
    text = (f"Avvikelsen mellan kostnad och budgeterad kostnad ({metod_text.lower()}) är "
            f"{belopp(avv, sign=True)} för {period_text}. Den delas upp i en volymeffekt, "
            f"(utfallsvolym − budgeterad volym) × budgetpris, på {belopp(volym, sign=True)} och en "
            f"pris- och effektivitetseffekt, (utfallspris − budgetpris) × utfallsvolym, på "
            f"{belopp(pris, sign=True)}. Positiva belopp betyder kostnad över budget.")
    if storst:
        text += (f" Störst avvikelse har {storst['namn'].lower()} med {belopp(storst['avvikelse'], sign=True)}.")
    return text


# --------------------------------------------------------------------------- key figures
def nyckeltal_inledning(vu_namn: str, period_text: str, aktuella: Sequence[str], ej_aktuella: Sequence[str],
                        ej_foljda: Sequence[str]) -> str:
    text = (f"Verksamhetsuppdragen följs upp med bestämd regelbundenhet genom granskning av beslutade "
            f"nyckeltal. ")
    if aktuella:
        text += f"För {period_text} redovisas {lista(aktuella)}."
    else:
        text += f"Inget av uppdragets nyckeltal ska redovisas för {period_text}."
    if ej_aktuella:
        text += f" Ej aktuella denna period (redovisas vid annat intervall): {lista(ej_aktuella)}."
    if ej_foljda:
        text += f" Ännu inte uppföljda: {lista(ej_foljda)}."
    else:
        text += " Samtliga nyckeltal i katalogen följs upp detta år."
    return text


def nyckeltal_beskrivning(namn: str, definition: str, intervall: str, mottagare: str, ansvarig: str,
                          enhet: str, ekonomisk_paverkan: str | None = None) -> str:
    text = (f"**{namn}.** {definition} ({enhet}). Intervall: {intervall.lower()}; mottagare: "
            f"{mottagare.lower()}; ansvarig: {ansvarig}.")
    if ekonomisk_paverkan:
        text += f" Ekonomisk påverkan: {ekonomisk_paverkan.lower()}."
    return text


# --------------------------------------------------------------------------- changes of funds
def medel(period_text: str, n: int, total, passerade: Sequence[str]) -> str:
    if n == 0:
        return (f"Inga förändringar av medel utanför budgetprocessen har betalats ut till uppdraget "
                f"under {period_text}.")
    text = (f"Utöver den ordinarie ersättningen har {n} {'ärende' if n == 1 else 'ärenden'} med "
            f"förändring av medel utanför budgetprocessen betalats ut, sammanlagt {belopp(total)}. "
            "Förändringar av medel (statsbidrag, oförutsedda händelser och riktade satsningar) har egen "
            "tilldelning och ekonomisk uppföljning, och innehållet i uppdraget samt återrapporteringskraven "
            "ska tydligt framgå.")
    if passerade:
        text += f" Sista dag för återrapportering har passerat för {lista(passerade)}."
    return text


# --------------------------------------------------------------------------- overview
def netting(scope_text: str, period_text: str, underskott: Sequence[tuple[str, float]],
            overskott: Sequence[tuple[str, float]], netto, tackt, otackt, ekb: tuple[str, float] | None = None) -> str:
    """How deficits and surpluses net within Leanlink's total compensation."""
    text = ("Leanlink ersätts enligt respektive verksamhetsuppdrag och hanterar över- eller underskott i "
            "enskilda uppdrag inom ramen för sin samlade ersättning. ")
    if underskott:
        parts = [f"{n} ({belopp(v, sign=True)})" for n, v in underskott]
        text += f"Under {period_text} har {lista(parts)} underskott. "
    else:
        text += f"Under {period_text} har inget uppdrag underskott. "
    if overskott:
        parts = [f"{n} ({belopp(v, sign=True)})" for n, v in overskott]
        text += f"Överskott har {lista(parts)}. "
    text += f"Netto för {scope_text} blir {over_under(netto)}"
    if underskott:
        if otackt and round(float(otackt)) > 0:
            text += (f": överskotten täcker {belopp(tackt)} av underskotten, och {belopp(otackt)} "
                     "återstår otäckt inom den samlade ersättningen.")
        else:
            text += ": överskotten täcker underskotten helt inom den samlade ersättningen."
    else:
        text += "."
    if ekb:
        text += (f" {ekb[0]} regleras separat och nettas inte med de nio uppdragen; resultatet där är "
                 f"{belopp(ekb[1], sign=True)}.")
    return text


# --------------------------------------------------------------------------- budget
def budget_sammanfattning(year: int, version: str, index: float, innevarande, forslag, indexering,
                          forandringar, n_andringar: int) -> str:
    return (f"Förslaget till ersättning för {year} (modellversion {version}) utgår från innevarande års "
            f"ersättning {belopp(innevarande)}. Uppräkningen med Kommunstyrelsens index {fmt.pct(index, 2)} "
            f"ger {belopp(indexering, sign=True)}, och {n_andringar} föreslagna förändringar i uppdragen "
            f"(volym, ambition, uppdrag, effektiviseringskrav och separat reglerade belopp) ger sammanlagt "
            f"{belopp(forandringar, sign=True)}. Den föreslagna ersättningen för {year} blir därmed "
            f"{belopp(forslag)}, en förändring med {belopp(forslag - innevarande, sign=True)} "
            f"({fmt.pct((forslag - innevarande) / innevarande, 1, sign=True) if innevarande else '–'}).")
