/**
 * The emoji-category domains: what each art style is, where it comes from
 * (pinned npm packages of emoji-datasource) and under which licence, and the
 * nine Unicode categories that are the classes.
 * @module
 */

/** The nine Unicode emoji categories, label order (Component is left out). */
export const EMOJI_CATEGORIES: readonly string[] = [
  "Smileys & Emotion",
  "People & Body",
  "Animals & Nature",
  "Food & Drink",
  "Travel & Places",
  "Activities",
  "Objects",
  "Symbols",
  "Flags",
];

/** One art style of the emoji: a domain of its own. */
export interface EmojiStyle {
  /** Domain name (`emoji-google`). */
  domain: string;
  /** Pinned npm package holding the 64×64 PNGs and `emoji.json`. */
  npm: string;
  /** Folder of the 64×64 PNGs inside the package. */
  imageDir: string;
  /** The artwork's name and origin. */
  artwork: string;
  /** Licence of the images. */
  licence: string;
  /** The attribution the licence asks for, as published. */
  attribution: string;
}

/** Licence of `emoji.json` (the metadata) in every emoji-datasource package. */
export const EMOJI_METADATA_LICENCE =
  "MIT, Copyright (c) 2013 Cal Henderson (emoji-datasource, https://github.com/iamcal/emoji-data)";

/** The art styles, each from its own npm package (exact versions). */
export const EMOJI_STYLES: readonly EmojiStyle[] = [
  {
    domain: "emoji-google",
    npm: "emoji-datasource-google@16.0.0",
    imageDir: "img/google/64",
    artwork: "Noto Emoji by Google (https://github.com/googlefonts/noto-emoji)",
    licence: "Apache-2.0 (flag images: public domain, via region-flags)",
    attribution: "Noto Emoji images, Copyright Google Inc., licensed under the Apache License, " +
      "Version 2.0 (https://www.apache.org/licenses/LICENSE-2.0); flag images from " +
      "region-flags (public domain). As packaged by emoji-datasource-google 16.0.0.",
  },
  {
    domain: "emoji-twitter",
    npm: "emoji-datasource-twitter@16.0.0",
    imageDir: "img/twitter/64",
    artwork: "Twemoji by Twitter, Inc. and jdecked (https://github.com/jdecked/twemoji)",
    licence: "CC-BY-4.0",
    attribution: "Twemoji graphics, Copyright Twitter, Inc. and other contributors, and " +
      "jdecked and other contributors, licensed under CC-BY 4.0 " +
      "(https://creativecommons.org/licenses/by/4.0/). As packaged by " +
      "emoji-datasource-twitter 16.0.0.",
  },
];

/** Names of the emoji domains. */
export const EMOJI_DOMAINS: readonly string[] = EMOJI_STYLES.map((s) => s.domain);

/** Share of each category's emoji (whole families) held out for test. */
export const EMOJI_TEST_FRACTION = 0.2;
/** Seed of the family order of the train/test split. */
export const EMOJI_SPLIT_SEED = 17;
