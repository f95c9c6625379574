// whatsapp-imitation: WhatsApp Web's ids, as wa-js declares them (src/whatsapp/misc/Wid.ts,
// src/whatsapp/misc/MsgKey.ts) and whatsapp-web.js uses them:
//   Wid        {server, user, _serialized} with toString(), isLid(), isUser(), isGroup(), equals()
//              (its `_serialized` stays in every build: wa-js#3484);
//   MsgKey     the module value of WAWebMsgKey is the class itself
//              (`new (require('WAWebMsgKey'))({from, to, id, participant, selfDir})`,
//              `require('WAWebMsgKey').newId()`); its serialized form is an own `_serialized`
//              up to 2.3000.1042386815 and a minified own `$1` from 2.3000.1042401057 on, with
//              toString() returning that field (wa-js#3484);
//   WABase64   encodeB64(bytes) → base64.
(() => {
  'use strict';

  const ns = (window.__waImitation = window.__waImitation || {});

  class Wid {
    constructor(serialized) {
      const text = String(serialized);
      const at = text.indexOf('@');
      if (at <= 0 || at === text.length - 1) {
        throw new Error('Wid error: invalid wid ' + JSON.stringify(text));
      }
      this.server = text.slice(at + 1);
      this.user = text.slice(0, at);
      this._serialized = this.user + '@' + this.server;
    }

    toString() {
      return this._serialized;
    }

    toJSON() {
      return this._serialized;
    }

    toJid() {
      return this.server === 'c.us' ? this.user + '@s.whatsapp.net' : this._serialized;
    }

    equals(other) {
      if (other === null || other === undefined) return false;
      if (!(other instanceof Wid) && typeof other !== 'string') return false;
      return String(other) === this._serialized;
    }

    isLid() {
      return this.server === 'lid';
    }

    isUser() {
      return this.server === 'c.us' || this.server === 'lid';
    }

    isGroup() {
      return this.server === 'g.us';
    }

    isBroadcast() {
      return this.server === 'broadcast';
    }

    isStatus() {
      return this._serialized === 'status@broadcast';
    }

    isNewsletter() {
      return this.server === 'newsletter';
    }

    isBot() {
      return this.server === 'bot';
    }
  }

  function createWid(id) {
    if (id instanceof Wid) return new Wid(id._serialized);
    if (id && typeof id === 'object' && typeof id._serialized === 'string') {
      return new Wid(id._serialized);
    }
    if (typeof id !== 'string') throw new Error('createWid: expected a string, got ' + typeof id);
    return new Wid(id);
  }

  function asWid(value, what) {
    if (value instanceof Wid) return value;
    if (typeof value === 'string') return new Wid(value);
    throw new Error('MsgKey error: ' + what + ' must be a Wid');
  }

  // The fields of a key, from either constructor form; throws like a key would on bad input.
  function keyFields(obj) {
    let fromMe;
    let remote;
    if ('selfDir' in obj) {
      if (obj.selfDir !== 'in' && obj.selfDir !== 'out') {
        throw new Error('MsgKey error: selfDir must be "in" or "out"');
      }
      fromMe = obj.selfDir === 'out';
      remote = asWid(fromMe ? obj.to : obj.from, fromMe ? 'to' : 'from');
    } else {
      if (typeof obj.fromMe !== 'boolean') throw new Error('MsgKey error: fromMe must be a boolean');
      fromMe = obj.fromMe;
      remote = asWid(obj.remote, 'remote');
    }
    if (typeof obj.id !== 'string' || obj.id === '') {
      throw new Error('MsgKey error: id must be a non-empty string');
    }
    const participant =
      obj.participant === undefined || obj.participant === null
        ? undefined
        : asWid(obj.participant, 'participant');
    const parts = [String(fromMe), remote.toString(), obj.id];
    if (participant) parts.push(participant.toString());
    return { fromMe, remote, id: obj.id, participant, serialized: parts.join('_') };
  }

  function randomHex(length) {
    const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(length / 2)));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))
      .join('')
      .slice(0, length)
      .toUpperCase();
  }

  // What both builds' keys share.
  function withSharedMembers(MsgKey) {
    MsgKey.newId = async function newId() {
      return '3EB0' + randomHex(18);
    };
    MsgKey.fromString = function fromString(text) {
      const parts = String(text).split('_');
      if (parts.length < 3 || (parts[0] !== 'true' && parts[0] !== 'false')) {
        throw new Error('MsgKey error: cannot parse ' + JSON.stringify(String(text)));
      }
      return new MsgKey({
        fromMe: parts[0] === 'true',
        remote: new Wid(parts[1]),
        id: parts[2],
        participant: parts[3] ? new Wid(parts[3]) : undefined,
      });
    };
    MsgKey.prototype.equals = function equals(other) {
      return other instanceof MsgKey && other.toString() === this.toString();
    };
    MsgKey.prototype.clone = function clone() {
      return new MsgKey({
        fromMe: this.fromMe,
        remote: this.remote,
        id: this.id,
        participant: this.participant,
      });
    };
    return MsgKey;
  }

  // The class source keeps the string wa-js finds the module by, and toString() reads the
  // field straight (`return this._serialized` / `return this.$1`), as in the real builds.
  function makeMsgKey(keyField) {
    if (keyField === '_serialized') {
      return withSharedMembers(
        class MsgKey {
          constructor(obj) {
            if (obj === null || obj === undefined) throw new Error('MsgKey error: obj is null/undefined');
            const key = keyFields(obj);
            this.fromMe = key.fromMe;
            this.remote = key.remote;
            this.id = key.id;
            if (key.participant) this.participant = key.participant;
            this._serialized = key.serialized;
          }

          toString() {
            return this._serialized;
          }
        },
      );
    }
    return withSharedMembers(
      class MsgKey {
        constructor(obj) {
          if (obj === null || obj === undefined) throw new Error('MsgKey error: obj is null/undefined');
          const key = keyFields(obj);
          this.fromMe = key.fromMe;
          this.remote = key.remote;
          this.id = key.id;
          if (key.participant) this.participant = key.participant;
          this.$1 = key.serialized;
        }

        toString() {
          return this.$1;
        }
      },
    );
  }

  function bytesOf(data) {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (Array.isArray(data)) return Uint8Array.from(data);
    throw new TypeError('encodeB64: expected an ArrayBuffer or a typed array');
  }

  const base64 = {
    encodeB64(data) {
      let binary = '';
      for (const byte of bytesOf(data)) binary += String.fromCharCode(byte);
      return btoa(binary);
    },
    decodeB64(text) {
      const binary = atob(String(text));
      return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
    },
  };

  ns.Wid = Wid;
  ns.createWid = createWid;
  ns.makeMsgKey = makeMsgKey;
  ns.base64 = base64;
})();
