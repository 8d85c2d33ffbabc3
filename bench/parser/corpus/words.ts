// Vocabulary the generator draws from. The non-ASCII lists make sure multi-byte UTF-8
// sequences are common, so random chunk boundaries often land inside one.

import type { Random } from './random.ts';

export const ENGLISH = [
  'hello', 'are', 'you', 'coming', 'tonight', 'the', 'meeting', 'moved', 'to', 'three',
  'o\'clock', 'see', 'you', 'there', 'thanks', 'for', 'the', 'link', 'build', 'is', 'green',
  'again', 'lunch?', 'sure', 'deploy', 'went', 'fine', 'check', 'the', 'logs', '&', 'reply',
  'when', 'you', 'can', '<3', 'ok', 'yes', 'no', 'maybe', 'later', 'call', 'me', 'back',
];

export const CJK = [
  '你好', '今天天气很好', '我们明天见', '谢谢你的帮助', '会议改到三点',
  'こんにちは', 'ありがとうございます', '了解しました', '後で電話します', '新しいバージョン',
  '안녕하세요', '감사합니다', '내일 봐요', '회의가 연기되었습니다',
];

export const EMOJI = ['😀', '🎉', '👍', '🚀', '❤️', '🐱', '🇯🇵', '👩‍💻', '🙏', '✅', '🔥', '🤔'];

export const NAMES = ['juliet', 'romeo', 'nurse', 'mercutio', 'benvolio', 'tybalt', 'paris', 'laurence'];
export const DOMAINS = ['capulet.lit', 'montague.lit', 'verona.example', 'example.com'];
export const RESOURCES = ['balcony', 'orchard', 'phone', 'laptop', 'Conversations.x1Yz', 'gajim.KQ3'];
export const GROUPS = ['Friends', 'Family', 'Work', 'Verona', '同事', '家族', '🎭 Theatre'];

export function bareJid(random: Random): string {
  return random.pick(NAMES) + random.int(1, 999) + '@' + random.pick(DOMAINS);
}

export function fullJid(random: Random): string {
  return bareJid(random) + '/' + random.pick(RESOURCES);
}

export function stanzaId(random: Random): string {
  return random.hex(8) + '-' + random.hex(4);
}

/** Text of roughly `units` UTF-16 units mixing the given vocabularies. */
export function sentence(random: Random, units: number, vocab: readonly (readonly string[])[]): string {
  let out = '';
  while (out.length < units) {
    const word = random.pick(random.pick(vocab));
    out += out === '' ? word : ' ' + word;
  }
  return out;
}
