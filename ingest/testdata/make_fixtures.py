#!/usr/bin/env python3
"""Regenerates the ingest fixtures and prints the expected hashes frozen in
ingest_test.go. SHA-1 from hashlib, NTLM from openssl (legacy provider), so
that expectations never come from the code under test. Run from anywhere."""
import hashlib, subprocess, os, json
td = os.path.dirname(os.path.abspath(__file__))
os.makedirs(td + '/hibp-sha1-dir', exist_ok=True)
os.makedirs(td + '/hibp-ntlm-dir', exist_ok=True)
def sha1(s): return hashlib.sha1(s.encode()).hexdigest().upper()
def ntlm(s):
    out = subprocess.run(['openssl','dgst','-provider','legacy','-md4'], input=s.encode('utf-16le'), capture_output=True).stdout.decode()
    return out.split('= ')[1].strip().upper()
pw = {"password": 3730471, "123456": 209972844, "azerty": 702291, "motdepasse": 93823, "soleil": 178240, "été2024": 7}
rows = sorted((sha1(p), c, p) for p, c in pw.items())
with open(td + '/hibp-sha1.txt', 'w', newline='') as f:
    f.write(''.join(f'{h}:{c}\r\n' for h, c, p in rows))
nrows = sorted((ntlm(p), c, p) for p, c in pw.items())
with open(td + '/hibp-ntlm.txt', 'w', newline='') as f:
    f.write(''.join(f'{h}:{c}\n' for h, c, p in nrows))
for d, rr in (('hibp-sha1-dir', rows), ('hibp-ntlm-dir', nrows)):
    files = {}
    for h, c, p in rr:
        files.setdefault(h[:5], []).append(f'{h[5:]}:{c}')
    for pre, lines in files.items():
        with open(f'{td}/{d}/{pre}.txt', 'w', newline='') as f:
            f.write('\r\n'.join(lines))  # like the API: CRLF, no trailing newline
for h, c, p in rows: print('sha1', repr(p), h, c)
for h, c, p in nrows: print('ntlm', repr(p), h, c)
csv = (
 'Nom;Prénom;Adresse e-mail;Téléphone;Mot de passe;Pays\r\n'
 'Dupont;Élodie; Elodie.Dupont@Exemple.FR ;06 12 34 56 78;soleil;France\r\n'
 'Martin;Jérôme;jerome.martin@orange.fr;+33 (0)7 81 23 45 67;motdepasse;FR\r\n'
 'Lefèvre;Zoé;zoe@café.fr;;été2024;\r\n'
 'Durand;Paul;paul.durand@free;0612;azerty;FR\r\n'
 'Petit;Luc;;0470 12 34 56;password;Belgique\r\n'
 'Bernard;Anne;anne.bernard@laposte.net;;123456;\r\n'
 'Robert;"Marc, dit ""le grand""";marc.robert@sfr.fr;;"p;w";FR\r\n'
 'Thomas;"Léa;lea.thomas@sfr.fr;;pw;FR\r\n'
 '\r\n'
 'Richard;Eve\r\n'
 'Moreau;Jean;jean.moreau@gmail.com;123;soleil;FR\r\n'
)
open(td+'/dump-fr.csv','w',newline='',encoding='utf-8').write(csv)
# The same kind of file as a French buyer would get it: Windows-1252, tab-separated.
tsv = ('Email\tMot de passe\tTél\r\n'
       'rene.lebrun@wanadoo.fr\tété2024\t01 23 45 67 89\r\n'
       'Noël.Faure@Exemple.fr\tsoleil\t\r\n')
open(td+'/dump-cp1252.tsv','wb').write(tsv.encode('cp1252'))
combo = ('alice@example.com:hunter2\n'
         'Bob@Example.COM;pa:ss:word\n'
         'carol@example.org:p@ss;w0rd\r\n'
         'not-an-email:foo\n'
         '\n'
         'dave@exemple.fr\n'
         'eve@@example.com:x\n'
         'alice@example.com:hunter2')
open(td+'/combo.txt','w',newline='').write(combo)
hashes = (sha1('frank@example.com') + '\n' + sha1('grace@example.com').lower() + '\r\n'
          + 'not a hash\n' + sha1('heidi@example.com')[:39] + '\n')
open(td+'/hashes-email.txt','w',newline='').write(hashes)
open(td+'/hashes-phone.txt','w',newline='').write(sha1('+33612345678') + '\n' + sha1('+33145678901') + '\n')
man = {"Name":"ExempleFR","Title":"Exemple.fr","Domain":"exemple.fr","BreachDate":"2024-03-15",
       "PwnCount":7,"Description":"Fuite de la base clients d'Exemple.fr (test fixture).",
       "DataClasses":["Email addresses","Names","Phone numbers","Passwords"],"IsVerified":True,
       "IsSensitive":False,"IsFabricated":False,"IsRetired":False,"IsSpamList":False,"IsMalware":False,
       "LogoPath":"","Attribution":"unknown"}
json.dump(man, open(td+'/manifest.json','w'), indent=2, ensure_ascii=False)
man2 = dict(man, Name="PartnerList", Title="Partner list", DataClasses=["Email addresses"])
json.dump(man2, open(td+'/manifest-partner.json','w'), indent=2)
open(td+'/manifest-bad.json','w').write('{\n  "Name": "Bad",\n  "BreachDate": "15/03/2024",\n}\n')
open(td+'/manifest-noname.json','w').write('{"Title": "No name"}\n')
h = sha1('password')
bad = (h + ':10\n'
       'ZZAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:1\n'
       '7C4A8D09CA3762AF61E59520943DC26494F8941B:abc\n'
       '9CF95DACD226DCF43DA376CDB6CBBA7035218921:0\n'
       '940C0F26FD5A30775BB1CBD1F6840398D39BB813\n'
       '\n'
       'A94A8FE5CCB19BA61C4C0873D391E987982FBBD3:99999999999999999999999\n'
       'A94A8FE5CCB19BA61C4C0873D391E987982FBBD3:5\n')
open(td+'/hibp-malformed.txt','w',newline='').write(bad)
open(td+'/empty.txt','w').write('')
open(td+'/blank.txt','w').write('\n\n  \n')
open(td+'/binary.bin','wb').write(b'\x00\x01\x02garbage\x00' * 10)
open(td+'/no-email-column.csv','w').write('nom,prenom,ville\nDupont,Jean,Paris\n')
open(td+'/unsorted-sha1.txt','w',newline='').write(
    sha1('soleil') + ':2\n' + sha1('password') + ':3\n' + sha1('123456') + ':4\n' + sha1('azerty') + ':5\n' + sha1('été2024') + ':6\n' + sha1('password') + ':1\n')
for e in ['elodie.dupont@exemple.fr','jerome.martin@orange.fr','zoe@xn--caf-dma.fr','anne.bernard@laposte.net','marc.robert@sfr.fr','jean.moreau@gmail.com',
          'rene.lebrun@wanadoo.fr','noël.faure@exemple.fr','alice@example.com','bob@example.com','carol@example.org','dave@exemple.fr',
          'frank@example.com','grace@example.com']:
    print('email', e, sha1(e))
for p in ['+33612345678','+33781234567','+32470123456','+33123456789','+33145678901']:
    print('phone', p, sha1(p))
for p in ['soleil','motdepasse','été2024','password','123456','p;w','hunter2','pa:ss:word','p@ss;w0rd']:
    print('pw', repr(p), sha1(p), ntlm(p))
print('idna', 'café'.encode('idna'))
