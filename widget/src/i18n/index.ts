/**
 * Locale selection: the integrator's `locale` option wins, then the session's locale from the
 * server's `ready`, then the browser's language; anything without a translation falls back to
 * English. `format` fills `{name}` placeholders.
 */
import { de } from "./de.ts";
import { en, type StringKey, type Strings } from "./en.ts";

const TABLES: Record<string, Strings> = { en, de };

export type { StringKey, Strings };

export function pickStrings(...candidates: (string | null | undefined)[]): {
  lang: string;
  strings: Strings;
} {
  for (const candidate of candidates) {
    const lang = candidate?.toLowerCase().split(/[-_]/)[0];
    if (lang && TABLES[lang]) return { lang, strings: TABLES[lang] };
  }
  return { lang: "en", strings: en };
}

export function format(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ""));
}
