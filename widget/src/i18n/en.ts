/**
 * English strings of the widget. Every string the user sees or hears lives here and in its
 * German twin (de.ts) so that a translation never has to touch code; `Strings` is the key set.
 */
export const en = {
  brand: "Identity check",
  connecting: "Connecting securely…",
  connectFailedTitle: "This link cannot be used",
  connectFailedBody:
    "The link may have expired or already been used. Go back to the site that sent you here and start a new check.",
  permTitle: "Camera and microphone",
  permBody:
    "For about a minute we need your camera and microphone to check that you are a real person who is here right now. Video and sound are analysed while they stream and are never stored.",
  permAllow: "Allow camera and microphone",
  permDecline: "Continue without",
  permAsking: "Your browser is asking for permission. Choose “Allow”.",
  permBlockedTitle: "Camera or microphone blocked",
  permBlockedBody:
    "Your browser blocked access. Select the camera icon in the address bar (or open this site's settings), allow camera and microphone, then try again.",
  permMissingBody: "We found no camera or microphone. Connect one, then try again.",
  permRetry: "Try again",
  permSkip: "Continue without camera",
  liveTitle: "Face check",
  liveIntro: "Place your face inside the oval and look at the camera.",
  hintNoImage: "No picture is arriving from your camera. Is it covered?",
  hintDark: "It is too dark. Turn towards a light or a window.",
  hintBright: "The picture is too bright. Avoid strong light straight behind or on you.",
  hintOk: "Good. Keep your face in the oval.",
  challenge_turn_left: "Slowly turn your head to the left and hold it there until we say done.",
  challenge_turn_right: "Slowly turn your head to the right and hold it there until we say done.",
  challenge_blink: "Blink a few times, until we say done.",
  challenge_look_up: "Look up and hold it there until we say done.",
  challenge_done: "Done, thank you.",
  challenge_opposite: "That was the other way.",
  progressLabel: "Capture progress",
  progress: "{done} of {total} seconds captured",
  conversationTitle: "A short question",
  conversationListen: "Answer out loud. We are listening.",
  conversationCaption: "Question",
  emailTitle: "Your email address",
  emailLabel: "Email address",
  emailSubmit: "Continue",
  emailSkip: "Skip",
  emailInvalid: "Enter a complete email address, like name@example.com.",
  faceTitle: "Hold still",
  faceBody: "Look at the camera for a moment.",
  doneTitle: "All done",
  doneBody: "Thank you. You can close this page now.",
  incompleteTitle: "The check did not finish",
  reason_timeout:
    "Nothing arrived from this page for a while, so the check stopped. Start a new check and keep this page open in front until it says “All done”.",
  reason_disconnected: "The connection was lost. Check your internet connection, then start a new check.",
  reason_expired: "This check has expired. Ask the site that sent you here for a new one.",
  reason_cancelled: "This check was cancelled by the site that started it.",
  reason_other: "Something went wrong on our side. Please start a new check.",
  retry: "Start a new check",
  cameraPreview: "Camera preview. Only you see it.",
  micLevel: "Microphone level",
  working: "Checking…",
} as const;

export type StringKey = keyof typeof en;
export type Strings = Record<StringKey, string>;
