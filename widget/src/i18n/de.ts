/** German strings of the widget (same keys as en.ts; the type check keeps them complete). */
import type { Strings } from "./en.ts";

export const de: Strings = {
  brand: "Identitätsprüfung",
  connecting: "Sichere Verbindung wird aufgebaut …",
  connectFailedTitle: "Dieser Link kann nicht verwendet werden",
  connectFailedBody:
    "Der Link ist vielleicht abgelaufen oder wurde schon benutzt. Gehen Sie zurück zur Seite, die Sie hierher geschickt hat, und starten Sie eine neue Prüfung.",
  permTitle: "Kamera und Mikrofon",
  permBody:
    "Für etwa eine Minute brauchen wir Ihre Kamera und Ihr Mikrofon, um zu prüfen, dass Sie eine echte Person sind und gerade hier sind. Bild und Ton werden während der Übertragung ausgewertet und nie gespeichert.",
  permAllow: "Kamera und Mikrofon erlauben",
  permDecline: "Ohne fortfahren",
  permAsking: "Ihr Browser fragt nach der Erlaubnis. Wählen Sie „Zulassen“.",
  permBlockedTitle: "Kamera oder Mikrofon blockiert",
  permBlockedBody:
    "Ihr Browser hat den Zugriff blockiert. Wählen Sie das Kamerasymbol in der Adressleiste (oder die Einstellungen dieser Website), erlauben Sie Kamera und Mikrofon und versuchen Sie es erneut.",
  permMissingBody:
    "Wir haben keine Kamera und kein Mikrofon gefunden. Schließen Sie eines an und versuchen Sie es erneut.",
  permRetry: "Erneut versuchen",
  permSkip: "Ohne Kamera fortfahren",
  liveTitle: "Gesichtsprüfung",
  liveIntro: "Bringen Sie Ihr Gesicht in das Oval und schauen Sie in die Kamera.",
  hintNoImage: "Von Ihrer Kamera kommt kein Bild. Ist sie abgedeckt?",
  hintDark: "Es ist zu dunkel. Wenden Sie sich einer Lampe oder einem Fenster zu.",
  hintBright: "Das Bild ist zu hell. Vermeiden Sie starkes Licht direkt hinter oder auf Ihnen.",
  hintOk: "Gut. Halten Sie Ihr Gesicht im Oval.",
  challenge_turn_left:
    "Drehen Sie den Kopf langsam nach links und halten Sie ihn so, bis „Erledigt“ erscheint.",
  challenge_turn_right:
    "Drehen Sie den Kopf langsam nach rechts und halten Sie ihn so, bis „Erledigt“ erscheint.",
  challenge_blink: "Blinzeln Sie ein paar Mal, bis „Erledigt“ erscheint.",
  challenge_look_up: "Schauen Sie nach oben und halten Sie den Kopf so, bis „Erledigt“ erscheint.",
  challenge_done: "Erledigt, danke.",
  challenge_opposite: "Das war die andere Richtung.",
  progressLabel: "Fortschritt der Aufnahme",
  progress: "{done} von {total} Sekunden erfasst",
  conversationTitle: "Eine kurze Frage",
  conversationListen: "Antworten Sie laut. Wir hören zu.",
  conversationCaption: "Frage",
  emailTitle: "Ihre E-Mail-Adresse",
  emailLabel: "E-Mail-Adresse",
  emailSubmit: "Weiter",
  emailSkip: "Überspringen",
  emailInvalid: "Geben Sie eine vollständige E-Mail-Adresse ein, etwa name@example.com.",
  faceTitle: "Bitte stillhalten",
  faceBody: "Schauen Sie einen Moment in die Kamera.",
  doneTitle: "Fertig",
  doneBody: "Danke. Sie können diese Seite jetzt schließen.",
  incompleteTitle: "Die Prüfung wurde nicht abgeschlossen",
  reason_timeout:
    "Eine Weile kam nichts von dieser Seite an, deshalb wurde die Prüfung beendet. Starten Sie eine neue Prüfung und lassen Sie diese Seite im Vordergrund, bis „Fertig“ erscheint.",
  reason_disconnected:
    "Die Verbindung wurde unterbrochen. Prüfen Sie Ihre Internetverbindung und starten Sie eine neue Prüfung.",
  reason_expired:
    "Diese Prüfung ist abgelaufen. Bitten Sie die Seite, die Sie hierher geschickt hat, um eine neue.",
  reason_cancelled: "Diese Prüfung wurde von der Seite abgebrochen, die sie gestartet hat.",
  reason_other: "Bei uns ist etwas schiefgegangen. Bitte starten Sie eine neue Prüfung.",
  retry: "Neue Prüfung starten",
  cameraPreview: "Kameravorschau. Nur Sie sehen sie.",
  micLevel: "Mikrofonpegel",
  working: "Wird geprüft …",
};
