// Hugging Face tokenizers through @huggingface/tokenizers (pure JavaScript):
// tokenizer.json, with tokenizer_config.json when present for the special
// tokens. encode() applies the tokenizer's own post-processor, so BOS is added
// exactly where Hugging Face adds it.
import { Tokenizer } from '@huggingface/tokenizers';

export function createTokenizer(tokenizerJson, tokenizerConfig, vocabSize) {
  let tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig ?? {});
  } catch (error) {
    throw new Error(`loadModel: tokenizer.json could not be read (${error.message})`);
  }
  const vocabulary = tokenizerJson?.model?.vocab;
  const ids = [
    ...(Array.isArray(vocabulary) ? vocabulary.map((_, i) => i) : Object.values(vocabulary ?? {})),
    ...(tokenizerJson?.added_tokens ?? []).map((t) => t.id),
  ];
  const largest = Math.max(-1, ...ids);
  if (largest >= vocabSize) {
    throw new Error(`loadModel: the tokenizer has token id ${largest}, but the model's vocab_size is ${vocabSize}`);
  }
  const idOf = (token) => (typeof token === 'string' ? tokenizer.token_to_id(token) : token?.content !== undefined ? tokenizer.token_to_id(token.content) : undefined);
  return {
    /** Token ids of `text`, special tokens added as the tokenizer's post-processor says. */
    encode: (text) => tokenizer.encode(String(text)).ids,
    decode: (ids, { skipSpecialTokens = true } = {}) => tokenizer.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens }),
    idOf,
    tokenOf: (id) => tokenizer.id_to_token(id),
    bosToken: tokenizerConfig?.bos_token,
    eosToken: tokenizerConfig?.eos_token,
  };
}
