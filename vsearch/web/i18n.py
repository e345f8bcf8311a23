"""French and English text of the review UI (French first: the users are French investigators)."""

from __future__ import annotations

LANGS = ("fr", "en")

TEXT: dict[str, tuple[str, str]] = {  # key -> (fr, en)
    "title": ("vsearch — revue", "vsearch — review"),
    "login": ("Connexion", "Log in"),
    "investigator": ("Identifiant enquêteur", "Investigator id"),
    "case": ("Référence de procédure", "Case reference"),
    "reason": ("Motif de la consultation", "Reason for access"),
    "login_note": ("Chaque consultation est inscrite au journal d'audit avec votre identifiant, la procédure et "
                   "le motif. Pour changer de procédure, déconnectez-vous puis reconnectez-vous.",
                   "Every access is written to the audit log with your id, the case and the reason. To change "
                   "case, log out and log in again."),
    "logout": ("Déconnexion", "Log out"),
    "search": ("Rechercher", "Search"),
    "free_text": ("Texte libre (ex. « personne en haut rouge »)", "Free text (e.g. “person in red top”)"),
    "camera": ("Caméra", "Camera"),
    "all_cameras": ("toutes", "all"),
    "from": ("De", "From"),
    "to": ("À", "To"),
    "date": ("Jour", "Day"),
    "class": ("Classe", "Class"),
    "colour": ("Couleur", "Colour"),
    "upper": ("Haut", "Top"),
    "lower": ("Bas", "Bottom"),
    "direction": ("Direction", "Direction"),
    "zone": ("Zone", "Zone"),
    "min_dwell": ("Durée min. en vue", "Min. time in view"),
    "limit": ("Max. résultats", "Max. hits"),
    "hits": ("résultat(s)", "hit(s)"),
    "score": ("score", "score"),
    "why": ("pourquoi", "why"),
    "timeline": ("Chronologie par caméra", "Timeline per camera"),
    "coverage": ("Couverture", "Coverage"),
    "searched": ("fouillé", "searched"),
    "gaps": ("illisible", "unreadable"),
    "uncovered": ("non indexé", "not indexed"),
    "not_understood": ("Mots non compris", "Words not understood"),
    "read_as": ("Fautes de frappe lues comme", "Typing slips read as"),
    "draw_zone": ("Dessiner une zone", "Draw a zone"),
    "zone_help": ("Cliquez sur l'image pour poser les sommets du polygone, puis lancez la recherche.",
                  "Click on the still to place the polygon's corners, then search."),
    "clear_zone": ("Effacer", "Clear"),
    "zone_mode": ("Condition", "Condition"),
    "entered": ("est entré", "entered"),
    "stayed": ("est resté ≥ 30 s", "stayed ≥ 30 s"),
    "show_still": ("Afficher l'image", "Show still"),
    "at": ("À l'instant", "At"),
    "tube": ("Objet", "Object"),
    "attributes": ("Attributs", "Attributes"),
    "path_on_still": ("Trajectoire sur une image de la caméra", "Path on a still of the camera"),
    "more_like_this": ("Plus comme celui-ci (toutes caméras)", "More like this (all cameras)"),
    "confirm": ("Confirmer (ajouter au dossier)", "Confirm (add to basket)"),
    "reject": ("Rejeter", "Reject"),
    "confirmed": ("confirmé", "confirmed"),
    "rejected": ("rejeté", "rejected"),
    "basket": ("Dossier", "Basket"),
    "basket_empty": ("Aucun objet confirmé.", "No confirmed object."),
    "export": ("Exporter un scellé signé", "Export a signed bundle"),
    "export_running": ("Export en cours…", "Exporting…"),
    "export_done": ("Export terminé", "Export finished"),
    "export_failed": ("Échec de l'export", "Export failed"),
    "synopsis": ("Synopsis", "Synopsis"),
    "make_synopsis": ("Synopsis de ces résultats", "Synopsis of these hits"),
    "synopsis_help": ("Cliquez sur un objet dans la vidéo pour ouvrir l'original à cet instant.",
                      "Click an object in the video to open the original at that time."),
    "source_map": ("Carte des sources", "Source map"),
    "original": ("original", "original"),
    "clip_from": ("extrait à partir de", "clip from"),
    "error": ("Erreur", "Error"),
    "back": ("Retour", "Back"),
    "case_label": ("Procédure", "Case"),
    "working": ("Calcul en cours…", "Working…"),
    "no_hits": ("Aucun résultat dans ce qui a été fouillé (voir la couverture).",
                "No hit in what was searched (see the coverage)."),
}


def texts(lang: str) -> dict[str, str]:
    i = LANGS.index(lang) if lang in LANGS else 0
    return {k: v[i] for k, v in TEXT.items()}


def coverage_sentence(cov: dict[str, object], lang: str) -> str:
    """The coverage report of a search as one readable sentence."""
    searched = cov["searched"]
    seconds = float(cov.get("footage_searched_s") or 0.0)
    amount = f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds:.0f} s"
    cams = ", ".join(cov["cameras_requested"] or cov["cameras_indexed"]) or "-"
    start, end = ("début", "fin") if lang == "fr" else ("start", "end")
    win = f"{cov['window_from'] or start} → {cov['window_to'] or end}"
    n_bad, n_gaps, n_unc = len(cov["not_searched"]), len(cov["gaps"]), len(cov["uncovered"])
    missing = ", ".join(cov["cameras_missing"])
    blind: dict[str, int] = {}  # term -> objects it could not be measured on (`Coverage.not_measured`)
    for m in cov.get("not_measured") or []:
        blind[str(m["term"])] = blind.get(str(m["term"]), 0) + int(m["objects"])
    terms = ", ".join(f"{t} ({n})" for t, n in blind.items())
    if lang == "en":
        s = (f"Searched {len(searched)} file(s), {amount} of footage, cameras {cams}, window {win}; "
             f"{n_bad} file(s) could not be read, {n_gaps} unreadable span(s), {n_unc} part(s) of the window "
             f"without footage")
        s += f"; not measurable on some objects: {terms}" if terms else ""
        return s + (f"; cameras never indexed: {missing}." if missing else ".")
    s = (f"{len(searched)} fichier(s) fouillé(s), {amount} d'images, caméras {cams}, période {win} ; "
         f"{n_bad} fichier(s) illisible(s), {n_gaps} passage(s) illisible(s), {n_unc} partie(s) de la période "
         f"sans images")
    s += f" ; non mesurable sur certains objets : {terms}" if terms else ""
    return s + (f" ; caméras jamais indexées : {missing}." if missing else ".")
