// Jinja chat templates (as found in tokenizer.chat_template) for model families that ship none.
// Each renders `messages` [{role, content}] and honours `add_generation_prompt`; bos_token/eos_token are passed in.

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
